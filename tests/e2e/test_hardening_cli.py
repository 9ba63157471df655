"""Issue 10 (wave 2), each class as a user hits it: the CLI in subprocesses, real files.

Output writer (item 2), empty and ambiguous answers (item 4), the error boundary and its log
(item 5), memory before a big run (item 7), terminal width and help (item 8). Corrupt state,
disk full and read-only data directories are in ``test_hostile_state.py``; concurrent
imports and readers in ``test_concurrency.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

FORMULA = "=cmd|' /C calc'!A0"


def cli(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "critmat", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (which calls the CLI's ``main``) in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    src = tmp_path / "seed.csv"
    src.write_text("material,country,year,quantity\ngallium,DEU,2022,12\n", encoding="utf-8")
    assert cli("data", "import", src, "-t", "production", "--data-dir", root).returncode == 0
    return root


# ----------------------------------------------------------------------------- item 2


def test_out_never_overwrites_without_force(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.csv"
    out.write_text("mine\n", encoding="utf-8")
    args = ("hhi", "-m", "gallium", "-y", "2022", "--out", out, "--data-dir", data)
    proc = cli(*args)
    assert proc.returncode == 2 and "exists; give --force" in flat(proc.stderr)
    assert out.read_text(encoding="utf-8") == "mine\n"
    assert cli(*args, "--force").returncode == 0
    assert "gallium" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_out_inside_the_data_directory_is_refused(data: Path) -> None:
    before = (data / "manifest.json").read_bytes()
    for target in (data / "manifest.json", data / "tables" / "new.csv"):
        proc = cli(
            "hhi",
            "-m",
            "gallium",
            "-y",
            "2022",
            "-f",
            "json",
            "--out",
            target,
            "--data-dir",
            data,
            "--force",
        )
        assert proc.returncode == 2 and "inside the critmat data directory" in flat(proc.stderr)
    assert (data / "manifest.json").read_bytes() == before
    assert cli("data", "list", "--data-dir", data).returncode == 0


def test_missing_folders_are_created_for_out_report_html_and_presets(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "a" / "b" / "h.csv"
    proc = cli("hhi", "-m", "gallium", "-y", "2022", "--out", out, "--data-dir", data)
    assert proc.returncode == 0 and out.is_file() and "created folder" in proc.stderr
    spec = tmp_path / "specs" / "ga.yaml"
    assert cli("scenario", "presets", "china-ga-ge-2023", "--out", spec).returncode == 0
    html = tmp_path / "reports" / "run.html"
    xlsx = tmp_path / "tables" / "r.xlsx"
    proc = cli(
        "scenario",
        "run",
        "--spec",
        spec,
        "-n",
        "40",
        "-q",
        "--html",
        html,
        "--out",
        xlsx,
        "--data-dir",
        data,
    )
    assert proc.returncode == 0, proc.stderr
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html")
    book = openpyxl.load_workbook(xlsx)  # the title "...: summary (40 scenarios)" had a ':'
    assert ":" not in book.sheetnames[0] and len(book.sheetnames[0]) <= 31


def test_formula_cells_are_neutralised_on_export_and_round_trip(data: Path, tmp_path: Path) -> None:
    src = tmp_path / "inj.csv"
    pd.DataFrame(
        {
            "material": ["gallium"],
            "country": ["FRA"],
            "year": [2023],
            "quantity": [5.0],
            "unit": ["t"],
            "measured_as": [FORMULA],
        }
    ).to_csv(src, index=False)
    assert cli("data", "import", src, "-t", "production", "--data-dir", data).returncode == 0
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"p.{suffix}"
        proc = cli(
            "data",
            "export",
            "production",
            "-m",
            "gallium",
            "--countries",
            "FRA",
            "--out",
            out,
            "--data-dir",
            data,
        )
        assert proc.returncode == 0, proc.stderr
        if suffix == "csv":
            assert "'" + FORMULA in out.read_text(encoding="utf-8")
        else:
            cells = [c for row in openpyxl.load_workbook(out).active.iter_rows() for c in row]
            hit = [c for c in cells if isinstance(c.value, str) and "cmd|" in c.value]
            assert hit and all(c.data_type == "s" and c.value.startswith("'") for c in hit)
        again = tmp_path / f"again-{suffix}"
        proc = cli("data", "import", out, "-t", "production", "--data-dir", again)
        assert proc.returncode == 0, proc.stderr
        back = tmp_path / f"back-{suffix}.csv"
        assert (
            cli(
                "data",
                "export",
                "production",
                "-m",
                "gallium",
                "--countries",
                "FRA",
                "-f",
                "csv",
                "--out",
                back,
                "--data-dir",
                again,
            ).returncode
            == 0
        )
        frame = pd.read_csv(back, dtype=str, keep_default_na=False)
        assert frame["measured_as"].tolist() == ["'" + FORMULA]  # the file holds it neutralised


def test_report_with_an_unknown_suffix_is_an_error_before_any_work(tmp_path: Path) -> None:
    proc = cli("assess", "--report", tmp_path / "x.odt", "--no-user-data")
    msg = flat(proc.stderr)
    assert proc.returncode == 2 and "no report renderer for '.odt'" in msg and ".html" in msg
    assert proc.stdout == "" and not (tmp_path / "x.odt").exists()
    proc = cli(
        "scenario",
        "run",
        "-p",
        "china-ga-ge-2023",
        "-n",
        "20",
        "-q",
        "--no-save",
        "--html",
        tmp_path / "r.docx",
    )
    assert proc.returncode == 2 and "valid suffixes: .html" in flat(proc.stderr)


# ----------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("hhi", "-m", "helium", "-y", "2022"), "no result for --materials helium, --years 2022"),
        (("dependency", "-m", "nickel", "-i", "TUV", "-y", "2022"), "--importers TUV"),
    ],
)
def test_empty_answers_say_why_and_exit_3(args: tuple[str, ...], words: str) -> None:
    for fmt in ("table", "csv"):
        proc = cli(*args, "-f", fmt, "--no-user-data")
        assert proc.returncode == 3 and words in flat(proc.stderr), proc.stderr
        assert proc.stdout == ""  # no empty table that reads as "no risk"


def test_ambiguous_country_names_list_the_candidates(tmp_path: Path) -> None:
    proc = cli("dependency", "-m", "nickel", "-i", "Congo", "-y", "2022", "--no-user-data")
    msg = flat(proc.stderr)
    assert proc.returncode == 2 and "ambiguous country 'Congo'" in msg
    assert "COG (Congo Republic)" in msg and "COD (DR Congo)" in msg
    assert cli(
        "dependency", "-m", "nickel", "-i", "COD", "-y", "2022", "--no-user-data"
    ).returncode in (0, 3)
    src = tmp_path / "p.csv"
    src.write_text("material,country,year,quantity\ncobalt,Congo,2022,10\n", encoding="utf-8")
    proc = cli("data", "import", src, "-t", "production", "--data-dir", tmp_path / "d")
    assert proc.returncode == 2 and "ambiguous country" in flat(proc.stdout + proc.stderr)


def test_bom_material_without_supply_data_is_flagged(tmp_path: Path) -> None:
    root = tmp_path / "d"
    bom = tmp_path / "bom.csv"
    bom.write_text(
        "system,component,material,kg_per_unit,kind\nRafale,radar,gallium,1,user\n"
        "Rafale,contacts,osmium,2,user\n",
        encoding="utf-8",
    )
    rates = Path(__file__).resolve().parents[2] / "examples" / "defence_build_rates_eu.csv"
    assert cli("data", "import", bom, "-t", "bom", "--data-dir", root).returncode == 0
    assert cli("data", "import", rates, "-t", "build_rates", "--data-dir", root).returncode == 0
    out = tmp_path / "e.csv"
    proc = cli("defence", "exposure", "--by", "material", "--out", out, "--data-dir", root)
    assert proc.returncode == 0, proc.stderr
    e = pd.read_csv(out)
    osmium = e[e["material"] == "osmium"]
    assert len(osmium) and set(osmium["status"]) == {"no_supply_shares"}
    assert osmium["china_share"].isna().all() and (osmium["demand_t_per_year"] > 0).all()
    assert set(e.loc[e["material"] == "gallium", "status"]) == {"ok"}


def test_assess_for_another_importer_never_shows_the_eu_import_reliance(tmp_path: Path) -> None:
    out = {}
    for importer in ("EU27", "FRA"):
        path = tmp_path / f"{importer}.csv"
        proc = cli(
            "assess", "-i", importer, "--whatif-samples", "0", "--no-user-data", "--out", path
        )
        assert proc.returncode == 0, proc.stderr
        out[importer] = pd.read_csv(path).set_index("material")["import_reliance"]
        side = json.loads(path.with_name(path.name + ".provenance.json").read_text())
        method = side["columns"]["import_reliance"]["method"]
        assert ("FRA" in method) == (importer == "FRA"), method
    eu, fra = out["EU27"], out["FRA"]
    both = eu.notna() & fra.notna()
    assert not (eu[both] == fra[both]).all() or both.sum() == 0
    assert fra.notna().sum() < eu.notna().sum() or not fra.equals(eu)


# ----------------------------------------------------------------------------- item 5


def test_an_unexpected_failure_is_a_message_with_a_log_file(tmp_path: Path) -> None:
    code = """
        import sys
        import critmat.knowledge_base as k
        def boom(*a, **kw):
            raise RuntimeError("simulated bug")
        k.KnowledgeBase.__init__ = boom
        from critmat.cli.app import main
        sys.argv = ["critmat", "hhi", "-m", "gallium"]
        main()
    """
    proc = python(code, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    msg = flat(proc.stderr)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "internal error: RuntimeError: simulated bug" in msg
    log = re.search(r"details in (\S+critmat\.log)", msg)
    assert log is not None, msg
    text = Path(log.group(1)).read_text(encoding="utf-8")
    assert "Traceback" in text and "simulated bug" in text


def test_disk_full_while_writing_out_leaves_nothing(tmp_path: Path) -> None:
    code = """
        import errno, sys
        import pandas as pd
        real = pd.DataFrame.to_csv
        def full(self, path=None, *a, **kw):
            if path is not None and not hasattr(path, "write"):
                open(path, "w").write("half")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, path, *a, **kw)
        pd.DataFrame.to_csv = full
        from critmat.cli.app import main
        sys.argv = ["critmat", "hhi", "-m", "gallium", "-y", "2022", "--no-user-data",
                    "--out", sys.argv[1]]
        main()
    """
    out = tmp_path / "o" / "h.csv"
    proc = python(code, str(out))
    msg = flat(proc.stderr)
    assert proc.returncode == 1 and "no space left on device" in msg and "Traceback" not in msg
    assert [p.name for p in out.parent.iterdir()] == []  # no half file, no .tmp- file


def test_yaml_problems_are_messages_with_lines(tmp_path: Path) -> None:
    head = "scenario:\n  name: {name}\n  horizon_months: 12\n"
    shocks = "  shocks:\n    - exporter: CHN\n      material: gallium\n      duration: 6\n"
    cases = {
        "latin.yaml": (
            (head.format(name="caf\xe9") + shocks).encode("latin-1"),
            "line 2: the file is not UTF-8",
        ),
        "dup.yaml": (
            (head.format(name="a") + "  name: b\n" + shocks).encode(),
            "duplicate key 'name' (first given at line 2)",
        ),
        "syntax.yaml": (
            (
                head.format(name="a") + "  shocks:\n    - exporter: CHN\n     material: gallium\n"
            ).encode(),
            "invalid YAML at line 6",
        ),
    }
    for name, (content, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        proc = cli("scenario", "validate", path, "--no-user-data")
        assert proc.returncode == 2 and words in flat(proc.stderr), (name, proc.stderr)


def test_a_huge_invalid_cell_is_shortened_in_the_message(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text(
        "material,country,year,quantity\ngallium,DEU,2022," + "9x" * 500_000 + "\n",
        encoding="utf-8",
    )
    proc = cli("data", "import", src, "-t", "production", "--data-dir", tmp_path / "d")
    squeezed = re.sub(r"[\s│┃]", "", proc.stderr)  # the table folds the cell over lines
    assert proc.returncode == 2 and "(1,000,000characters)" in squeezed
    assert len(proc.stderr) < 20_000


# ----------------------------------------------------------------------------- item 7


def test_a_run_that_does_not_fit_is_refused_up_front() -> None:
    code = """
        import sys
        import critmat.scenarios.runner as r
        r.available_memory = lambda: 4 * 10**9
        from critmat.cli.app import main
        sys.argv = ["critmat", "scenario", "run", "-p", "china-full-cut", "-n", "3000000",
                    "-q", "--no-save", "--no-user-data"]
        main()
    """
    proc = python(code)
    msg = flat(proc.stderr)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "3,000,000 scenarios of 'china-full-cut' need about" in msg and "GB" in msg
    assert "nothing was run" in msg and "-n" in msg and "--seed" in msg


def test_the_memory_estimate_is_linear_and_far_below_50_gib() -> None:
    import critmat
    from critmat.scenarios.runner import run_memory_bytes

    kb = critmat.load(user_data=False)
    plan = kb.scenarios.validate(kb.scenarios.preset("china-full-cut").spec)
    static = plan.inputs()
    small = run_memory_bytes(static, plan.scenario, 100_000, 0)
    big = run_memory_bytes(static, plan.scenario, 3_000_000, 0)
    per = (big - small) / 2_900_000
    assert 2_000 < per < 8_000  # bytes per scenario (measured 3.9 kB at 20k-100k scenarios)
    assert big < 25 * 2**30  # the issue saw 50 GiB requested after 4 s


# ----------------------------------------------------------------------------- item 8


def _widths(text: str) -> list[int]:
    return [len(line) for line in text.splitlines()]


def test_tables_fit_80_columns_and_pipes_follow_columns() -> None:
    proc = cli("assess", "--whatif-samples", "20", "--no-user-data", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert max(_widths(proc.stdout)) <= 80
    assert "…" not in proc.stdout  # no value cut to "10…" or "ye…"
    assert "left out at this width" in proc.stdout  # and it says which columns it dropped
    proc = cli(
        "scenario",
        "run",
        "-p",
        "china-ga-ge-2023",
        "-n",
        "50",
        "-q",
        "--no-save",
        "--no-user-data",
        env={"COLUMNS": "80"},
    )
    assert proc.returncode == 0 and max(_widths(proc.stdout)) <= 80 and "…" not in proc.stdout
    assert "germanium" in proc.stdout and "shortfall_mean" in proc.stdout
    for columns in ("60", "140"):
        proc = cli(
            "hhi",
            "-m",
            "gallium,tungsten",
            "-y",
            "2022",
            "--no-user-data",
            env={"COLUMNS": columns},
        )
        assert max(_widths(proc.stdout)) <= int(columns)


def test_every_option_shows_its_default_and_no_type_placeholder() -> None:
    from typer.main import get_command

    from critmat.cli.app import app

    def walk(cmd: object, path: str) -> list[tuple[str, object]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            return [x for n, c in subs.items() for x in walk(c, f"{path} {n}")]
        return [(path, cmd)]

    problems = []
    for path, cmd in walk(get_command(app), "critmat"):
        help_text = getattr(cmd, "help", "") or ""
        for para in help_text.split("\n\n"):
            lines = para.splitlines()
            if len(lines) > 1 and not any(
                ln.lstrip().startswith(("- ", "* ", "$ ")) for ln in lines
            ):
                problems.append(f"{path}: help breaks mid-paragraph: {para[:60]!r}")
        for p in getattr(cmd, "params", []):
            if p.param_type_name != "option" or p.name == "help":
                continue
            text = (p.help or "").replace("\\[", "[")
            shows = "[default:" in text or (p.show_default and p.default is not None)
            if not shows:
                problems.append(f"{path} {p.opts[0]}: no default in its help")
            if str(p.metavar or "").startswith("<"):
                problems.append(f"{path} {p.opts[0]}: placeholder {p.metavar}")
    assert not problems, "\n".join(problems)
    proc = cli("scenario", "run", "--help", env={"COLUMNS": "80"})
    assert "<bool>" not in proc.stdout and "<int" not in proc.stdout and "<str>" not in proc.stdout
    # click puts the range next to the default: "[default: 300; x>=0]"
    assert re.search(r"\[default: 300[;\]]", flat(cli("assess", "--help").stdout))


def test_build_rates_without_any_bom_say_so(tmp_path: Path) -> None:
    root = tmp_path / "d"
    rates = Path(__file__).resolve().parents[2] / "examples" / "defence_build_rates_eu.csv"
    assert cli("data", "import", rates, "-t", "build_rates", "--data-dir", root).returncode == 0
    out = tmp_path / "demand.csv"
    proc = cli("defence", "demand", "--out", out, "--data-dir", root)
    assert proc.returncode == 0, proc.stderr
    demand = pd.read_csv(out)
    eu = demand[demand["system"].isin(pd.read_csv(rates)["system"])]
    assert len(eu) and set(eu["status"]) <= {"no_bom", "ok"} and "no_bom" in set(eu["status"])
    proc = cli("defence", "exposure", "--by", "material", "--data-dir", root)
    assert proc.returncode in (0, 3)  # a message (exit 3) or rows; never a traceback
    if proc.returncode == 3:
        assert "no result" in flat(proc.stderr)
