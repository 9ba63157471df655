"""The user data directory's commit protocol: snapshots, retention, damaged state, failed writes.

Issue 10 classes "data lost or corrupted" and "tracebacks instead of messages" (data layer):
each damaged file gives a :class:`CorruptStateError` naming the file and what to do, and a
write that fails (disk full, read-only) leaves no trace.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pandas as pd
import pytest

import critmat
import critmat.data.userdata as ud
from critmat.errors import CorruptStateError, StorageError
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv

ROWS = """
    material,country,year,quantity
    gallium,DEU,2023,12
    cobalt,FIN,2023,1500
    """


def _imported(kb: KnowledgeBase, tmp_path: Path, text: str = ROWS) -> Path:
    kb.import_file(write_csv(tmp_path / "p.csv", text), "production")
    assert kb.user is not None
    return kb.user.root


def _state(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


# ----------------------------------------------------------------------------- snapshots


def test_queries_read_a_snapshot_taken_once(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _imported(user_kb, tmp_path)
    kb = critmat.load(root)
    assert len(kb.production(materials="cobalt", countries="FIN", years=2023)) == 1
    # the user rows live in the DuckDB connection now: deleting every file of the directory
    # (what a concurrent writer's clean-up could do) does not affect this knowledge base
    for p in (root / "tables").iterdir():
        p.unlink()
    (root / "manifest.json").unlink()
    frame = kb.production(materials="gallium", countries="DEU", years=2023)
    assert frame["quantity_t"].tolist() == [12.0]
    assert kb.tables().set_index("table").loc["production", "user_rows"] == 2
    kb.close()  # a closed knowledge base takes a new snapshot: the user rows are gone
    assert kb.production(materials="gallium", countries="DEU", years=2023).empty


def test_snapshot_retries_when_a_newer_commit_removed_the_file(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _imported(user_kb, tmp_path)
    data = ud.UserData(root)
    old = data.manifest()
    user_kb.import_file(
        write_csv(tmp_path / "q.csv", "material,country,year,quantity\nnickel,FIN,2023,7\n"),
        "production",
    )
    # a reader that read the manifest *before* that commit, and whose file then vanished
    (root / old["tables"]["production"]["file"]).unlink()
    calls = {"n": 0}
    real = ud.UserData.manifest

    def stale_first(self: ud.UserData) -> dict:
        calls["n"] += 1
        return old if calls["n"] == 1 else real(self)

    monkeypatch.setattr(ud.UserData, "manifest", stale_first)
    snap = data.snapshot()
    assert calls["n"] >= 3  # stale manifest, check, fresh manifest
    assert snap.tables["production"].num_rows == 3
    assert snap.manifest == real(data)


def test_superseded_files_are_retained_then_removed(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _imported(user_kb, tmp_path)
    first = ud.UserData(root).manifest()["tables"]["production"]["file"]
    user_kb.import_file(write_csv(tmp_path / "b.csv", ROWS), "production")
    manifest = ud.UserData(root).manifest()
    assert [r["file"] for r in manifest["retired"]] == [first]
    assert (root / first).is_file()  # a reader holding the previous manifest can open it
    # once retired for longer than the retention time, the next write removes it
    monkeypatch.setattr(ud, "RETAIN_SECONDS", 0.0)
    user_kb.import_file(write_csv(tmp_path / "c.csv", ROWS), "production")
    assert not (root / first).exists()
    files = {p.name for p in (root / "tables").iterdir()}
    after = ud.UserData(root).manifest()
    assert files == {Path(after["tables"]["production"]["file"]).name} | {
        Path(r["file"]).name for r in after["retired"]
    }


# ----------------------------------------------------------------------------- damaged state


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"tables": {', "not valid JSON (line 1, column"),
        ("[1, 2, 3]", "holds a JSON list, expected an object"),
        ('{"tables": []}', "'tables' is a list"),
        (
            '{"tables": {"production": {"file": "../../etc/passwd", "rows": 1, '
            '"combine": "upsert"}}}',
            "'tables.production.file'",
        ),
        (
            '{"tables": {"production": {"file": "tables/x.parquet", "rows": -1, '
            '"combine": "upsert"}}}',
            "'tables.production.rows'",
        ),
        (
            '{"tables": {"production": {"file": "tables/x.parquet", "rows": 1, '
            '"combine": "merge"}}}',
            "'tables.production.combine'",
        ),
        ('{"imports": [{"id": 1}]}', "'imports[0].id'"),
        ('{"format": 99}', "written by a newer critmat"),
        ("\xff\xfe", "not UTF-8 text"),
    ],
)
def test_damaged_manifest_names_file_and_remedy(data_dir: Path, content: str, problem: str) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "manifest.json").write_bytes(content.encode("latin-1"))
    kb = critmat.load(data_dir)
    with pytest.raises(CorruptStateError) as err:
        kb.production()
    msg = str(err.value)
    assert problem in msg and str(data_dir / "manifest.json") in msg
    assert "restore" in msg or "upgrade" in msg
    # a write refuses too (it would otherwise drop the user's other tables)
    before = _state(data_dir)
    with pytest.raises(CorruptStateError):
        kb.import_file(write_csv(data_dir.parent / "p.csv", ROWS), "production")
    assert _state(data_dir) == before


def test_truncated_user_table_names_file_and_remedy(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _imported(user_kb, tmp_path)
    path = root / ud.UserData(root).manifest()["tables"]["production"]["file"]
    path.write_bytes(path.read_bytes()[:100])
    kb = critmat.load(root)
    with pytest.raises(CorruptStateError) as err:
        kb.production()
    msg = str(err.value)
    assert str(path) in msg and "does not match its checksum" in msg
    assert "critmat data remove production" in msg
    # the remedy works: removing the user table needs no readable table file
    assert kb.remove_user_table("production")
    assert len(kb.production(materials="gallium", years=2023)) > 0


def test_unreadable_parquet_with_matching_checksum(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _imported(user_kb, tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    path = root / manifest["tables"]["production"]["file"]
    path.write_bytes(b"not parquet at all")
    manifest["tables"]["production"]["sha256"] = ud.file_sha256(path)
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptStateError, match="not a readable Parquet file"):
        critmat.load(root).production()


def test_missing_user_table_file(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _imported(user_kb, tmp_path)
    path = root / ud.UserData(root).manifest()["tables"]["production"]["file"]
    path.unlink()
    with pytest.raises(CorruptStateError) as err:
        critmat.load(root).tables()
    assert "named by manifest.json is missing" in str(err.value) and str(path) in str(err.value)


# ----------------------------------------------------------------------------- failed writes


def _enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_writing_the_table_leaves_nothing(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _imported(user_kb, tmp_path)
    before = _state(root)
    monkeypatch.setattr(ud, "write_table_parquet", _enospc)
    with pytest.raises(StorageError) as err:
        user_kb.import_file(write_csv(tmp_path / "n.csv", ROWS), "production")
    assert "no space left on device" in str(err.value) and "nothing was changed" in str(err.value)
    assert err.value.errno == errno.ENOSPC
    assert _state(root) == before


def test_disk_full_while_writing_the_manifest_leaves_nothing(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _imported(user_kb, tmp_path)
    before = _state(root)
    real_dump = json.dump

    def dump_then_fail(obj: object, fh: object, **kw: object) -> None:
        real_dump(obj, fh, **kw)  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ud.json, "dump", dump_then_fail)
    with pytest.raises(StorageError, match="no space left"):
        user_kb.import_file(write_csv(tmp_path / "n.csv", ROWS), "production")
    monkeypatch.undo()
    assert _state(root) == before  # no new table file, no manifest temp file
    assert len(critmat.load(root).user.read_table("production")) == 2  # type: ignore[union-attr]


def test_read_only_directory_reads_and_refuses_writes_clearly(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _imported(user_kb, tmp_path)
    kb = critmat.load(root)

    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    # reading never opens anything for writing: make every write primitive fail
    monkeypatch.setattr(Path, "mkdir", read_only)
    monkeypatch.setattr(Path, "touch", read_only)
    assert len(kb.production(materials="cobalt", countries="FIN", years=2023)) == 1
    assert not kb.remove_user_table("governance")  # nothing to remove: no lock needed
    with pytest.raises(StorageError, match="read-only file system"):
        kb.import_file(write_csv(tmp_path / "n.csv", ROWS), "production")


def test_merge_reads_the_previous_table_under_the_lock(
    user_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-modify-write happens entirely inside the lock (the race of issue 10)."""
    root = _imported(user_kb, tmp_path)
    data = ud.UserData(root)
    events: list[str] = []
    real_locked = ud.UserData._locked
    real_read = ud.UserData._read_table_file

    def locked(self: ud.UserData):  # type: ignore[no-untyped-def]
        events.append("lock")
        return real_locked(self)

    def read(self: ud.UserData, name: str, entry: dict) -> object:
        events.append("read")
        return real_read(self, name, entry)

    monkeypatch.setattr(ud.UserData, "_locked", locked)
    monkeypatch.setattr(ud.UserData, "_read_table_file", read)
    user_kb.import_file(write_csv(tmp_path / "m.csv", ROWS), "production")
    i = events.index("lock")
    assert events[i + 1] == "read"  # the current table is read after the lock is taken
    frame = data.read_table("production")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
