"""Invariant checks (strict or warn), output formats and the parameter vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from critmat.checks import (
    CheckFailed,
    CheckWarning,
    check_non_negative,
    check_shares_sum,
    check_units_known,
    coverage,
)
from critmat.output import OutputError, write_frame
from critmat.params import parse_years, split_list
from critmat.provenance import Provenance, attach


def test_shares_sum_strict_and_warn() -> None:
    frame = pd.DataFrame({"m": ["a", "a", "b", "b"], "share": [0.5, 0.5, 0.5, 0.2]})
    with pytest.raises(CheckFailed, match="shares_sum"):
        check_shares_sum(frame, ["m"])
    with pytest.warns(CheckWarning):
        bad = check_shares_sum(frame, ["m"], strict=False)
    assert list(bad["m"]) == ["b"] and bad["total"].iloc[0] == pytest.approx(0.7)
    assert check_shares_sum(frame, ["m"], mode="at_most").empty


def test_non_negative_and_units() -> None:
    frame = pd.DataFrame({"q": [1.0, -2.0, None], "unit": ["t", "kg", "stone"]})
    with pytest.raises(CheckFailed):
        check_non_negative(frame, ["q"])
    units = pd.DataFrame({"unit": ["t", "kg"]})
    with pytest.raises(CheckFailed, match="units_known"):
        check_units_known(frame, units)


def test_coverage_reports_gaps() -> None:
    frame = pd.DataFrame({"m": ["a"] * 3, "year": [2018, 2019, 2022]})
    cov = coverage(frame, ["m"])
    assert cov.loc[0, "missing_years"] == "2020;2021" and cov.loc[0, "n_years"] == 3


def test_embedded_tables_pass_invariants(kb) -> None:
    eu = kb.eu_crm_2023(mix="eu_sourcing")
    assert check_shares_sum(eu, ["material", "stage"], mode="at_most", tolerance=0.05).empty
    glob = kb.eu_crm_2023(mix="global")
    # four published global mixes sum to 0.89-0.93 (documented in docs/data-build-report.md)
    bad = check_shares_sum(glob, ["material", "stage"], tolerance=0.12, strict=True)
    assert bad.empty
    check_non_negative(kb.production(), ["quantity", "quantity_t"])
    check_units_known(kb.production(), kb.table("units"))
    assert (glob["share_bound"] == "upper").sum() > 100  # '<0.1%' kept as a bound, not 0
    assert (glob.loc[glob["share_bound"] == "upper", "share"] == 0.001).all()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx", "table"])
def test_write_frame_round_trip(tmp_path: Path, fmt: str) -> None:
    frame = attach(
        pd.DataFrame({"material": ["gallium"], "share": [0.98]}),
        Provenance(method="m", method_version="1", dataset_version="d"),
    )
    out = tmp_path / f"r.{ {'table': 'txt'}.get(fmt, fmt) }"
    write_frame(frame, fmt=fmt, out=out)
    side = json.loads(out.with_name(out.name + ".provenance.json").read_text())
    assert side["method"] == "m"
    if fmt == "csv":
        assert pd.read_csv(out).equals(frame)
    elif fmt == "json":
        assert json.loads(out.read_text()) == [{"material": "gallium", "share": 0.98}]
    elif fmt == "parquet":
        assert pd.read_parquet(out)["share"].iloc[0] == 0.98
    elif fmt == "xlsx":
        assert pd.read_excel(out)["material"].iloc[0] == "gallium"
    else:
        assert "gallium" in out.read_text()


def test_output_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(OutputError, match="give --out"):
        write_frame(frame, fmt="parquet")
    with pytest.raises(OutputError, match="did you mean 'csv'"):
        write_frame(frame, fmt="cvs")
    said: list[str] = []
    written = write_frame(frame, out=tmp_path / "no" / "x.csv", say=said.append)
    assert written is not None and written.is_file()  # the missing folder is created ...
    assert said == [f"created folder {tmp_path / 'no'}"]  # ... and the writer says so
    with pytest.raises(OutputError, match="exists; give --force"):
        write_frame(frame, out=tmp_path / "no" / "x.csv")


def test_params() -> None:
    assert parse_years("2018-2020") == [2018, 2019, 2020]
    assert parse_years("2018:2019,2022") == [2018, 2019, 2022]
    assert parse_years(2022) == [2022]
    assert parse_years("all") is None and parse_years(None) is None
    assert split_list(["a,b", "c"]) == ["a", "b", "c"]
    assert split_list("all") is None
