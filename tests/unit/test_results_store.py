"""Results kept on disk between runs (critmat.data.results, ``memoised(persist=True)``).

A kept value is read back only for the same arguments, the same data (embedded and user
tables) and the same code; anything else computes again. Damaged files, unwritable
folders and concurrent writers never change a result or raise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import critmat
from critmat.assess import assess
from critmat.data.cache import memoised
from critmat.data.results import ResultStore, digest, limit_problem
from critmat.knowledge_base import KnowledgeBase
from critmat.report.assessment import assessment_report
from tests.conftest import write_csv

CALLS: list[str] = []


@memoised("test.kept", persist=True)
def _kept(kb: KnowledgeBase, material: str = "gallium") -> pd.DataFrame:
    """A derived frame: the EU sourcing shares of one material (counts its calls)."""
    CALLS.append(material)
    frame = kb.table("eu_crm_2023", materials=[material])
    frame.attrs["critmat"] = {"notes": ["kept"]}
    return frame


def _ga_share(frame: pd.DataFrame) -> float:
    row = frame[
        (frame["stage"] == "processing")
        & (frame["mix"] == "eu_sourcing")
        & (frame["country"] == "CHN")
    ]
    return float(row["share"].iloc[0])


def _import_ga(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ga.csv",
        """
        material,stage,mix,country,share,share_bound
        gallium,processing,eu_sourcing,CHN,0.30,exact
        """,
    )
    kb.import_file(path, "eu_crm_2023", note="constructed share for the test")


def test_a_kept_value_is_read_back_by_the_next_run_and_never_for_other_data(
    data_dir: Path, tmp_path: Path
) -> None:
    CALLS.clear()
    first = _kept(critmat.load(data_dir))
    assert CALLS == ["gallium"] and _ga_share(first) == pytest.approx(0.69)
    files = list((data_dir / "cache").glob("*.result"))
    assert len(files) == 1
    kb = critmat.load(data_dir)  # a new run: nothing in memory
    second = _kept(kb)
    assert CALLS == ["gallium"]  # read back, not computed
    assert_frame_equal(first, second)
    assert second.attrs == first.attrs
    second.loc[second.index[0], "share"] = -1.0  # every call gets its own object
    second.attrs["critmat"]["notes"].append("changed")
    third = _kept(kb)
    assert_frame_equal(first, third) and third.attrs == first.attrs
    _kept(kb, "germanium")  # other arguments: computed
    assert CALLS == ["gallium", "germanium"]
    # other data: the import changes the manifest, hence the key
    _import_ga(kb, tmp_path)
    after = _kept(kb)
    assert CALLS[-1] == "gallium" and _ga_share(after) == pytest.approx(0.30)
    assert _ga_share(_kept(critmat.load(data_dir))) == pytest.approx(0.30)  # the new state kept
    kb.remove_user_table("eu_crm_2023")
    # the import log now names the import (sources list it): a new state, computed again
    assert _ga_share(_kept(kb)) == pytest.approx(0.69)
    assert CALLS.count("gallium") == 3


def test_without_a_store_values_are_kept_in_memory_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CALLS.clear()
    kb = critmat.load(user_data=False)
    assert kb.results is None
    _kept(kb)
    _kept(kb)
    assert CALLS == ["gallium"]
    monkeypatch.setenv("CRITMAT_CACHE", "off")
    off = critmat.load(data_dir)
    assert off.results is None
    _kept(off)
    _kept(critmat.load(data_dir))
    assert CALLS == ["gallium"] * 3 and not (data_dir / "cache").exists()


def test_a_damaged_file_is_computed_again(data_dir: Path) -> None:
    CALLS.clear()
    good = _kept(critmat.load(data_dir))
    (path,) = (data_dir / "cache").glob("*.result")
    blob = path.read_bytes()
    for damaged in (blob[: len(blob) // 2], blob[:-1] + bytes([blob[-1] ^ 1]), b"", b"junk"):
        path.write_bytes(damaged)
        again = _kept(critmat.load(data_dir))
        assert_frame_equal(good, again)
        assert path.read_bytes() == blob  # written again, whole
    assert len(CALLS) == 5


def test_an_unwritable_folder_changes_nothing_but_speed(data_dir: Path) -> None:
    CALLS.clear()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "cache").write_text("a file where the folder should be")
    kb = critmat.load(data_dir)
    assert _ga_share(_kept(kb)) == pytest.approx(0.69)
    assert _ga_share(_kept(critmat.load(data_dir))) == pytest.approx(0.69)
    assert CALLS == ["gallium", "gallium"]
    store = ResultStore(data_dir / "cache")
    assert store.put(digest("x"), b"payload") is False and store.get(digest("x")) is None
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]


def test_the_size_limit_removes_the_least_recently_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResultStore(tmp_path / "cache")
    monkeypatch.setenv("CRITMAT_CACHE_MAX_MB", "0.0025")  # 2,500 bytes
    keys = [digest("value", i) for i in range(4)]
    for i, key in enumerate(keys):
        assert store.put(key, bytes(1000))
        os.utime(store.root / f"{key}.result", (1000 + i, 1000 + i))
    # each file is 1,000 bytes plus a 50-byte header: the limit keeps two of them
    assert [store.get(k) is not None for k in keys] == [False, False, True, True]
    assert store.info()["files"] == 2 and store.clear() == 2 and store.info()["files"] == 0
    with pytest.raises(ValueError, match="not a result key"):
        store.get("../../etc/passwd")
    for bad in ("abc", "-5", "nan"):
        monkeypatch.setenv("CRITMAT_CACHE_MAX_MB", bad)
        assert store.info()["limit_bytes"] == 256_000_000
        assert "not a size in MB" in (limit_problem() or "")
    monkeypatch.setenv("CRITMAT_CACHE_MAX_MB", "0")
    assert limit_problem() is None


def _frames(a: Any) -> dict[str, Any]:
    return {
        name: getattr(a, name)
        for name in ("table", "shares", "geopolrisk", "eu", "concentration", "defence")
    }


def test_the_assessment_and_its_report_are_the_same_read_back(
    data_dir: Path, tmp_path: Path
) -> None:
    fresh = assess(critmat.load(data_dir), whatif_samples=40)
    kb = critmat.load(data_dir)
    kept = assess(kb, whatif_samples=40)
    for name, frame in _frames(fresh).items():
        assert_frame_equal(frame, _frames(kept)[name], obj=name)
        assert frame.attrs == _frames(kept)[name].attrs, name
    assert fresh.provenance == kept.provenance and fresh.year == kept.year
    assert kept.whatif is not None and fresh.whatif is not None
    assert_frame_equal(fresh.whatif.table, kept.whatif.table)
    report = assessment_report(kb, kept).render("html")
    cold = assessment_report(critmat.load(user_data=False), fresh).render("html")

    def stable(text: str) -> str:  # plotly's random div ids and the generation time
        import re

        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", text)
        return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?( UTC|Z)?", "", text)

    assert stable(report) == stable(cold)
    # read back from disk by a new run: the same sections; plotly rebuilds an unpickled
    # figure with its layout keys sorted, so figures are compared as parsed JSON
    again = assessment_report(
        critmat.load(data_dir), assess(critmat.load(data_dir), whatif_samples=40)
    )
    first = assessment_report(critmat.load(user_data=False), fresh)
    assert [s.key for s in again.sections] == [s.key for s in first.sections]
    for s_again, s_first in zip(again.sections, first.sections, strict=True):
        if s_again.key == "executive":
            continue
        f_again = [json.loads(b.figure.to_json()) for b in s_again.blocks if hasattr(b, "figure")]
        f_first = [json.loads(b.figure.to_json()) for b in s_first.blocks if hasattr(b, "figure")]
        assert f_again == f_first, s_again.key
    # an import that changes the EU gallium sourcing changes the kept assessment
    _import_ga(kb, tmp_path)
    changed = assess(kb, whatif_samples=40).table.set_index("material")
    before = fresh.table.set_index("material")
    assert changed.loc["gallium", "sr"] != before.loc["gallium", "sr"]


def _cache_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``critmat data cache ARGS`` in a subprocess with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "critmat", "data", "cache", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_runs_at_once_on_an_empty_cache_agree(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "CRITMAT_DATA_DIR": str(data), "COLUMNS": "80"}
    cmd = [sys.executable, "-m", "critmat", "assess", "--whatif-samples", "20"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0] and "gallium" in outs[0][0].lower()
    third = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and third.stdout == outs[0][0]  # read back: the same
    assert list((data / "cache").glob("*.result"))
    assert not list((data / "cache").glob(".*.tmp"))
    info = _cache_cli(env)
    assert info.returncode == 0 and "kept results: " in info.stdout, info
    cleared = _cache_cli(env, "--clear")
    assert cleared.returncode == 0 and "removed " in cleared.stdout
    assert not list((data / "cache").glob("*.result"))


def _section_builds(kb: KnowledgeBase, a: Any) -> list[str]:
    """The report sections that ``assessment_report(kb, a)`` built (not read back)."""
    import critmat.report.assessment as ra

    built: list[str] = []

    def counting(build: Any) -> Any:
        def wrapper(kb_: KnowledgeBase, a_: Any) -> Any:
            built.append(build.__qualname__)
            return build(kb_, a_)

        wrapper.__module__ = build.__module__  # still one of critmat's own builders
        wrapper.__qualname__ = build.__qualname__
        return wrapper

    assessment_report(kb, a, sections=[counting(b) for b in ra.SECTIONS])
    return built


def test_a_kept_assessment_changed_in_place_gets_a_report_of_its_own(data_dir: Path) -> None:
    kb = critmat.load(data_dir)
    a = assess(kb, whatif_samples=20)
    assert kb.cache.origin(a) is not None  # computed: the same content as the kept one
    first = _section_builds(kb, a)
    assert first  # computed once
    assert _section_builds(kb, assess(kb, whatif_samples=20)) == []  # then read back
    # the user edits the kept assessment: nothing of its old report may be read back
    edited = assess(kb, whatif_samples=20)
    edited.table.loc[edited.table["material"] == "gallium", "sr"] = 99.0
    assert kb.cache.origin(edited) is None
    assert _section_builds(kb, edited) == first
    report = assessment_report(kb, edited)
    matrix = next(s for s in report.sections if s.key == "matrix")
    srs = [y for b in matrix.blocks if hasattr(b, "figure") for t in b.figure.data for y in t.y]
    assert 99.0 in srs  # SR on the y axis: drawn from the edited value
    assert kb.cache.origin(assess(kb, whatif_samples=20)) is not None  # a fresh copy: kept


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership and modes")
def test_results_in_a_folder_others_can_write_are_never_read(data_dir: Path) -> None:
    CALLS.clear()
    _kept(critmat.load(data_dir))
    folder = data_dir / "cache"
    (path,) = folder.glob("*.result")
    assert path.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o077 == 0
    _kept(critmat.load(data_dir))
    assert CALLS == ["gallium"]  # read back
    path.chmod(0o666)  # anybody could have replaced it: not unpickled
    assert _ga_share(_kept(critmat.load(data_dir))) == pytest.approx(0.69)
    assert CALLS == ["gallium"] * 2
    path.unlink()
    folder.chmod(0o777)
    store = ResultStore(folder)
    assert not store.trusted() and store.info()["trusted"] is False
    _kept(critmat.load(data_dir))
    _kept(critmat.load(data_dir))
    assert CALLS == ["gallium"] * 4 and not list(folder.glob("*.result"))  # nor kept
    env = {**os.environ, "CRITMAT_DATA_DIR": str(data_dir)}
    info = _cache_cli(env)
    assert info.returncode == 0 and "chmod 700" in " ".join(info.stdout.split()), info
    folder.chmod(0o700)
    assert store.trusted()


def test_a_figure_block_read_back_is_the_figure_and_still_validates_changes() -> None:
    import pickle

    import plotly.graph_objects as go

    from critmat.report.builder import Figure

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3.5, None], name="Ga"), layout={"title": {"text": "t"}})
    block = Figure(fig, "title", ["usgs_mcs2026"])
    back = pickle.loads(pickle.dumps(block))
    assert back.title == "title" and back.sources == ["usgs_mcs2026"]
    assert json.loads(back.figure.to_json()) == json.loads(fig.to_json())
    back.figure.update_layout(title_text="changed")  # later changes are validated
    assert back.figure.layout.title.text == "changed"
    with pytest.raises(ValueError, match="not_a_property"):
        back.figure.update_layout(not_a_property=1)
    other = pickle.loads(pickle.dumps(Figure({"data": []}, "plain")))  # not plotly: as is
    assert other.figure == {"data": []} and other.title == "plain"
