"""The one output writer (issue 10 item 2) and the error explanations (item 5), in process.

The CLI tests of the same classes, as a user hits them, are in
``tests/e2e/test_hardening_cli.py``.
"""

from __future__ import annotations

import errno
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from critmat.data.io import read_user_file
from critmat.errors import ExternalError, OutputError, StorageError, explain, shorten
from critmat.output import (
    atomic_write,
    check_target,
    neutralise_formulas,
    report_format,
    report_formats,
    sheet_title,
    write_frame,
    write_text,
)
from critmat.report.builder import RENDERERS

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_refuses_overwrite_without_force_and_replaces_with_it(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    write_text(target, "first")
    with pytest.raises(OutputError, match="exists; give --force"):
        write_text(target, "second")
    assert target.read_text() == "first"
    write_text(target, "second", force=True)
    assert target.read_text() == "second"


def test_never_writes_inside_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for path in (data / "manifest.json", data / "tables" / "x.parquet", data):
        with pytest.raises(OutputError, match="inside the critmat data directory"):
            check_target(path, data_dir=data)
    assert list(data.iterdir()) == []


def test_creates_missing_folders_and_says_so(tmp_path: Path) -> None:
    said: list[str] = []
    out = write_text(tmp_path / "a" / "b" / "x.txt", "x", say=said.append)
    assert out.read_text() == "x" and said == [f"created folder {tmp_path / 'a' / 'b'}"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    target.write_text("old")

    def full(tmp: Path) -> None:
        tmp.write_text("half")  # a temporary file exists when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageError, match="no space left on device"):
        atomic_write(target, full)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]  # no .tmp- file

    def bug(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        atomic_write(target, bug)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_formulas_are_neutralised_and_read_back_unchanged(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": [*FORMULAS, "plain", "-"], "n": range(8)})
    safe = neutralise_formulas(frame)
    assert all(v.startswith("'") for v in safe["text"][: len(FORMULAS)])
    assert safe["text"].iloc[-2] == "plain" and safe["n"].tolist() == list(range(8))
    assert safe["text"].iloc[-1] == "'-"  # a lone '-' is text a spreadsheet would evaluate
    for suffix in ("csv", "xlsx"):
        out = write_frame(frame, out=tmp_path / f"f.{suffix}")
        assert out is not None
        back, _ = read_user_file(out)
        got, want = back["text"].tolist(), frame["text"].tolist()
        if suffix == "xlsx":  # XML stores a carriage return as a line feed: that cell differs
            got, want = got[:5] + got[6:], want[:5] + want[6:]
        assert got == want, suffix
    book = openpyxl.load_workbook(tmp_path / "f.xlsx")
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row[:1]]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula ('f')
    assert cells[0].value == "'=cmd|' /C calc'!A0"


def test_excel_error_literals_stay_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": ["#N/A", "#DIV/0!", "#REF!"]})
    out = write_frame(frame, out=tmp_path / "e.xlsx")
    assert out is not None
    back, _ = read_user_file(out)
    assert back["text"].tolist() == ["#N/A", "#DIV/0!", "#REF!"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("china-ga-ge-2023: summary (60 scenarios)", "china-ga-ge-2023 summary (60 sce"),
        ("a/b\\c?d*e[f]", "a b c d e f"),
        ("'quoted'", "quoted"),
        ("", "data"),
        (None, "data"),
    ],
)
def test_sheet_titles_are_valid(title: str | None, expected: str) -> None:
    name = sheet_title(title)
    assert name == expected[:31] and len(name) <= 31
    openpyxl.Workbook().create_sheet(name)  # openpyxl accepts it


def test_report_suffixes_come_from_the_renderer_registry() -> None:
    assert report_format("r.html") == "html" and report_format("R.HTM") == "html"
    with pytest.raises(OutputError, match=r"no report renderer for '\.odt'.*\.html"):
        report_format("r.odt")
    assert ".pdf" in report_formats()  # the PDF renderer registered itself
    RENDERERS["odt"] = lambda report: b"odt"
    try:
        assert ".odt" in report_formats() and report_format("r.odt") == "odt"
    finally:
        del RENDERERS["odt"]


def test_explain_names_file_problem_and_remedy() -> None:
    full = explain(OSError(errno.ENOSPC, "No space left on device", "/d/x.parquet"))
    assert isinstance(full, StorageError) and "/d/x.parquet" in full.message
    ro = explain(OSError(errno.EROFS, "Read-only file system", "/d/.lock"))
    assert ro is not None and "read-only" in ro.message
    missing = explain(FileNotFoundError(errno.ENOENT, "No such file", "/d/run/summary.parquet"))
    assert isinstance(missing, ExternalError) and "summary.parquet" in missing.message
    import yaml

    with pytest.raises(yaml.YAMLError) as info:
        yaml.safe_load("a: 1\n b: 2\n")
    y = explain(info.value)
    assert y is not None and "line 2" in y.message
    latin = explain(_decode_error())
    assert latin is not None and "UTF-8" in latin.message and "0xe9" in latin.message
    import duckdb

    with pytest.raises(duckdb.Error) as db:
        duckdb.connect().execute("select * from read_parquet('/nonexistent/x.parquet')")
    d = explain(db.value)
    assert d is not None and "restore" in d.message
    import pyarrow as pa

    p = explain(pa.ArrowInvalid("Parquet magic bytes not found in footer"))
    assert p is not None and "Parquet" in p.message
    assert explain(RuntimeError("a bug")) is None
    assert explain(MemoryError()) is not None


def _decode_error() -> UnicodeDecodeError:
    try:
        b"caf\xe9".decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    raise AssertionError("unreachable")


def test_long_values_are_shortened_in_messages() -> None:
    text = shorten("x" * 1_000_000, 120)
    assert len(text) < 160 and "1,000,000 characters" in text
