"""Reading user files: formats, encodings and malformed input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmat.data.io import read_user_file
from critmat.errors import DataValidationError
from tests.conftest import write_csv


def test_csv_keeps_codes_as_text(tmp_path: Path) -> None:
    p = write_csv(
        tmp_path / "t.csv",
        """
        hs6,value
        010111,1
        """,
    )
    frame, info = read_user_file(p)
    assert frame.loc[0, "hs6"] == "010111" and info["format"] == "csv"


def test_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "t.csv", "a,b\n1,2\n\n3,4\n")
    frame, _ = read_user_file(p)
    assert list(frame.index) == [0, 2]  # line 4 of the file is index 2 (+2 = line 4)


def test_ragged_csv_names_the_line(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "bad.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataValidationError) as err:
        read_user_file(p)
    prob = err.value.problems[0]
    assert prob.file == "bad.csv" and prob.row == 3 and "malformed" in prob.message


def test_windows_1252_text_is_read(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    p.write_bytes("country,x\nT\xfcrkiye,1\n".encode("cp1252"))
    frame, info = read_user_file(p)
    assert frame.loc[0, "country"] == "Türkiye" and info["encoding"] == "cp1252"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "empty"),
        ("header.csv", "a,b\n", "no data rows"),
        ("data.yaml", "a: 1", "unsupported file type"),
        ("data.json", "[]", "no data rows"),
        ("dict.json", '{"a": 1}', "holds a JSON dict, not a list"),
        ("list.json", "[1, 2]", "record 1 is a JSON int, not an object"),
        ("nested.json", '[{"a": [1]}]', "nested value in 'a'"),
        ("broken.json", '[{"a": 1},', "malformed JSON"),
        ("fake.xlsx", "not a workbook", "not a readable Excel workbook"),
        ("fake.parquet", "nope", "not a readable Parquet file"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataValidationError, match=message):
        read_user_file(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="file not found"):
        read_user_file(tmp_path / "nope.csv")


def test_xlsx_sheets(tmp_path: Path) -> None:
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="first", index=False)
        pd.DataFrame({"b": [2]}).to_excel(xw, sheet_name="second", index=False)
    frame, info = read_user_file(p, sheet="second")
    assert list(frame.columns) == ["b"] and info["sheet"] == "second"
    with pytest.raises(DataValidationError, match="no worksheet named 'third'"):
        read_user_file(p, sheet="third")
