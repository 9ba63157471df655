"""Validation reports every problem with file, row, column, value, expectation."""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.data.validate import validate_frame
from critmat.errors import DataValidationError
from critmat.knowledge_base import KnowledgeBase


def _problems(kb: KnowledgeBase, table: str, frame: pd.DataFrame) -> list:
    with pytest.raises(DataValidationError) as err:
        validate_frame(
            frame, kb.catalog.table(table), kb.validation_context(), file="f.csv", row_base=2
        )
    return err.value.problems


def test_clean_frame_is_canonicalised(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "Material": ["Gallium"],
            "COUNTRY": ["Germany"],
            "year": ["2023"],
            "quantity": ["12.5"],
            "unit": ["kg"],
        }
    )
    out = validate_frame(frame, kb.catalog.table("production"), kb.validation_context())
    row = out.iloc[0]
    assert (row["material"], row["country"], row["year"]) == ("gallium", "DEU", 2023)
    assert row["quantity_t"] == pytest.approx(0.0125)  # derived through the unit table
    assert row["stage"] == "extraction"  # default
    assert list(out.columns) == kb.catalog.table("production").field_names


def test_all_problems_are_reported_at_once(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["galium", "tungsten", "tungsten"],
            "country": ["CHN", "Chna", "CHN"],
            "year": ["2023", "2023.5", "2023"],
            "quantity": ["1", "-3", "abc"],
            "unit": ["t", "t", "tonnez"],
            "data_flag": ["r", "x", "e"],
        }
    )
    probs = _problems(kb, "production", frame)
    where = {(p.row, p.column) for p in probs}
    assert (2, "material") in where
    assert (3, "country") in where
    assert (3, "year") in where  # not a whole number
    assert (3, "quantity") in where  # negative
    assert (4, "quantity") in where  # not a number
    assert (4, "unit") in where
    assert (3, "data_flag") in where
    mat = next(p for p in probs if p.column == "material")
    assert mat.suggestions[0] == "gallium" and mat.value == "galium" and mat.file == "f.csv"
    flag = next(p for p in probs if p.column == "data_flag")
    assert "one of r, e, p" in (flag.expected or "")


def test_structure_problems(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["gallium"],
            "year": [2020],
            "quantity": [1.0],
            "quantity_t": [1.0],
            "colour": ["red"],
        }
    )
    probs = _problems(kb, "production", frame)
    msgs = {(p.column, p.message.split(";")[0]) for p in probs}
    assert ("country", "missing required column") in msgs
    assert ("colour", "unknown column") in msgs
    # a derived column is checked against its inputs after derivation, not refused outright
    assert not any(col == "quantity_t" for col, _ in msgs)
    # the missing column is reported once, not once per row
    assert sum(p.column == "country" for p in probs) == 1


def test_duplicate_keys(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["W", "tungsten"],
            "country": ["CHN", "China"],
            "year": [2020, 2020],
            "quantity": [1.0, 2.0],
        }
    )
    probs = _problems(kb, "production", frame)
    assert {p.row for p in probs} == {2, 3}
    assert all("duplicate primary key" in p.message for p in probs)
    assert probs[0].value == "tungsten, CHN, 2020"


def test_impossible_shares_and_booleans(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["gallium"],
            "stage": ["processing"],
            "mix": ["global"],
            "country": ["CHN"],
            "share": ["1.5"],
            "t": ["1"],
        }
    )
    probs = _problems(kb, "eu_crm_2023", frame)
    assert probs[0].column == "share" and "maximum" in probs[0].message
    mats = pd.DataFrame(
        {"material": ["newium"], "name": ["Newium"], "kind": ["element"], "nato_2024": ["perhaps"]}
    )
    probs = _problems(kb, "materials", mats)
    assert probs[0].column == "nato_2024" and "true/false" in probs[0].message


def test_booleans_and_dates_parse(kb: KnowledgeBase) -> None:
    mats = pd.DataFrame(
        {
            "material": ["newium"],
            "name": ["Newium"],
            "kind": ["element"],
            "nato_2024": ["yes"],
            "crma_critical": ["0"],
        }
    )
    out = validate_frame(mats, kb.catalog.table("materials"), kb.validation_context())
    assert bool(out.loc[0, "nato_2024"]) is True and bool(out.loc[0, "crma_critical"]) is False
    ev = pd.DataFrame(
        {
            "event_id": ["X-1"],
            "item": ["gallium"],
            "date_announced": ["2026-01-31"],
            "date_effective": ["31/01/2026"],
        }
    )
    probs = _problems(kb, "export_controls", ev)
    assert probs[0].column == "date_effective" and "YYYY-MM-DD" in (probs[0].expected or "")


def test_problem_list_is_capped(kb: KnowledgeBase) -> None:
    from critmat.data import validate as v

    n = v.MAX_PROBLEMS + 10
    frame = pd.DataFrame(
        {
            "material": ["nope"] * n,
            "country": ["CHN"] * n,
            "year": list(range(n)),
            "quantity": [1.0] * n,
        }
    )
    probs = _problems(kb, "production", frame)
    assert len(probs) == v.MAX_PROBLEMS + 1
    assert "further problems" in probs[-1].message
