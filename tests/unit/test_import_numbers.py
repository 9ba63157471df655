"""Numbers are finite and in the expected unit, or rejected with file, row, column, value.

Issue 10, class "silent wrong answers": ``inf`` and ``1e400`` were accepted as quantities
(HHI 0.0, status ok), a production row in ``kUSD`` was dropped as zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmat.data.validate import MAX_VALUE_CHARS, validate_frame
from critmat.errors import DataValidationError, Problem
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv


def _problems(kb: KnowledgeBase, table: str, frame: pd.DataFrame) -> list[Problem]:
    with pytest.raises(DataValidationError) as err:
        validate_frame(frame, kb.catalog.table(table), kb.validation_context(), file="x.csv")
    return err.value.problems


def _one(probs: list[Problem]) -> Problem:
    assert len(probs) == 1, probs
    return probs[0]


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("inf", "infinite values are not allowed"),
        ("-inf", "infinite values are not allowed"),
        ("Infinity", "infinite values are not allowed"),
        ("1e400", "overflows to infinity"),
        ("-1e400", "overflows to infinity"),
        ("nan", "leave the cell empty for a missing value"),
        ("NaN", "leave the cell empty for a missing value"),
        ("12,5", "not a valid number"),
    ],
)
def test_non_finite_numbers_are_rejected(kb: KnowledgeBase, cell: str, words: str) -> None:
    frame = pd.DataFrame(
        {"material": ["gallium"], "country": ["DEU"], "year": ["2023"], "quantity": [cell]}
    )
    p = _one(_problems(kb, "production", frame))
    assert (p.file, p.row, p.column, p.value) == ("x.csv", 1, "quantity", cell)
    assert words in p.message and p.expected == "a number, >= 0"


def test_non_finite_in_trade_value_and_parquet_floats(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "year": [2022, 2022, 2022],
            "exporter": ["CHN", "CHN", "CHN"],
            "importer": ["DEU", "FRA", "ITA"],
            "hs6": ["811292", "811292", "811292"],
            "value_kusd": [np.inf, 1.0, 2.0],  # a float column, as Parquet gives it
            "quantity_t": [1.0, -np.inf, np.nan],
        }
    )
    probs = _problems(kb, "trade", frame)
    assert {(p.row, p.column) for p in probs} == {(1, "value_kusd"), (2, "quantity_t")}
    assert all("infinite" in p.message for p in probs)


def test_integer_overflow_and_fractions(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["gallium"] * 3,
            "country": ["DEU", "FRA", "ITA"],
            "year": ["1e400", "99999999999999999999999", "2023.5"],
            "quantity": ["1", "1", "1"],
        }
    )
    msgs = {p.row: p.message for p in _problems(kb, "production", frame)}
    assert "overflows" in msgs[1] and "too large" in msgs[2] and "not a whole number" in msgs[3]


def test_derived_value_overflow_is_rejected(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["gallium"],
            "country": ["DEU"],
            "year": [2023],
            "quantity": ["1e306"],  # finite, but 1e309 t in kt
            "unit": ["kt"],
        }
    )
    p = _one(_problems(kb, "production", frame))
    assert p.column == "quantity_t" and "overflows to infinity" in p.message


@pytest.mark.parametrize(("unit", "dimension"), [("kUSD", "currency"), ("count", "count")])
def test_production_needs_a_mass_unit(kb: KnowledgeBase, unit: str, dimension: str) -> None:
    frame = pd.DataFrame(
        {"material": ["gallium"], "country": ["DEU"], "year": [2023], "quantity": [5], "unit": unit}
    )
    p = _one(_problems(kb, "production", frame))
    assert (p.row, p.column, p.value) == (1, "unit", unit)
    assert f"is a {dimension} unit, not a mass" in p.message
    assert p.expected is not None and "kg" in p.expected and "t," in p.expected


def test_volume_only_for_materials_measured_by_volume(kb: KnowledgeBase) -> None:
    ctx = kb.validation_context()
    assert "natural_gas" in ctx.volume_materials  # World Mining Data gives it in million m3
    ok = validate_frame(
        pd.DataFrame(
            {
                "material": ["natural gas"],
                "country": ["NOR"],
                "year": [2023],
                "quantity": [120000],
                "unit": ["Mio m3"],
            }
        ),
        kb.catalog.table("production"),
        ctx,
    )
    assert ok["quantity_t"].isna().all()  # a volume has no tonnes without a density
    frame = pd.DataFrame(
        {"material": ["gallium"], "country": ["DEU"], "year": [2023], "quantity": [5]}
    ).assign(unit="m3")
    assert "volume unit, not a mass" in _one(_problems(kb, "production", frame)).message


def test_trade_value_without_quantity_keeps_quantity_missing(kb: KnowledgeBase) -> None:
    """Decision: a missing BACI-style quantity stays missing (NaN), never 0 t.

    The embedded BACI rows do the same (docs/design.md, "Absence is not zero"); quantity-based
    results must give such rows a status rather than count them as zero.
    """
    frame = pd.DataFrame(
        {
            "year": [2022],
            "exporter": ["CHN"],
            "importer": ["DEU"],
            "hs6": ["811292"],
            "value_kusd": [125.0],
        }
    )
    out = validate_frame(frame, kb.catalog.table("trade"), kb.validation_context())
    assert out["quantity_t"].isna().all() and out["value_kusd"].tolist() == [125.0]


def test_long_values_are_shortened_in_problems(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {"material": ["gallium"], "country": ["DEU"], "year": [2023], "quantity": ["9" * 100_000]}
    )
    frame.loc[0, "quantity"] = "x" * 1_000_000
    p = _one(_problems(kb, "production", frame))
    assert p.value is not None and len(p.value) < MAX_VALUE_CHARS + 40
    assert p.value.endswith("(1,000,000 characters)")


# ----------------------------------------------------------------------------- derived columns


def test_supplied_derived_columns_are_checked(kb: KnowledgeBase) -> None:
    frame = pd.DataFrame(
        {
            "material": ["gallium"] * 4,
            "country": ["DEU", "FRA", "ITA", "ESP"],
            "year": [2023] * 4,
            "quantity": [5, 5, 5, 5],
            "unit": ["kt", "kt", "kt", "kt"],
            "quantity_t": ["5000", "", "50", "lots"],
        }
    )
    probs = _problems(kb, "production", frame)
    assert [(p.row, p.column, p.value) for p in probs] == [
        (3, "quantity_t", "50"),
        (4, "quantity_t", "lots"),
    ]
    assert probs[0].message == "derived column disagrees with its inputs"
    assert probs[0].expected is not None and probs[0].expected.startswith("5000.0 (computed")
    good = frame.iloc[:2]
    out = validate_frame(good, kb.catalog.table("production"), kb.validation_context())
    assert out["quantity_t"].tolist() == [5000.0, 5000.0]


def test_governance_derived_columns_round_trip(kb: KnowledgeBase) -> None:
    gov = kb.governance(countries="NAM", years=2022, vintage="wgi_2024")
    out = validate_frame(gov, kb.catalog.table("governance"), kb.validation_context())
    for col in ("pv_normalised", "wgi_mean", "wgi_scaled"):
        np.testing.assert_allclose(out[col].astype(float), gov[col].astype(float), rtol=1e-12)
    wrong = gov.assign(wgi_scaled=gov["wgi_scaled"] + 0.5)
    p = _one(_problems(kb, "governance", wrong))
    assert p.column == "wgi_scaled" and "disagrees" in p.message


# ----------------------------------------------------------------------------- files


def test_namibia_in_xlsx_is_text_not_missing(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "na.xlsx"
    pd.DataFrame(
        {
            "material": ["gallium", "cobalt"],
            "country": ["NA", "Namibia"],
            "year": [2023, 2023],
            "quantity": [1.0, 2.0],
            "measured_as": ["N/A", "None"],
        }
    ).to_excel(path, index=False)
    user_kb.import_file(path, "production")
    rows = user_kb.user.read_table("production")  # type: ignore[union-attr]
    assert rows["country"].tolist() == ["NAM", "NAM"]
    assert rows["measured_as"].tolist() == ["N/A", "None"]


def test_json_records_import(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            [
                {
                    "material": "gallium",
                    "country": "NA",
                    "year": 2023,
                    "quantity": 1.5,
                    "unit": "t",
                },
                {"material": "cobalt", "country": "FIN", "year": 2023, "quantity": 2, "unit": "kt"},
            ]
        )
    )
    res = user_kb.import_file(path, "production")
    assert res.rows_in_file == 2
    rows = user_kb.user.read_table("production")  # type: ignore[union-attr]
    assert rows["quantity_t"].tolist() == [1.5, 2000.0]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"material": "gallium", "country": "DEU", "year": 2023, "quantity": NaN}]')
    with pytest.raises(DataValidationError) as err:
        user_kb.import_file(bad, "production")
    p = err.value.problems[0]
    assert (p.file, p.row, p.column, p.value) == ("bad.json", 1, "quantity", "NaN")


def test_csv_inf_import_end_to_end(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    """The issue's example: `gallium,DEU,2023,inf,t` must not land."""
    path = write_csv(
        tmp_path / "inf.csv",
        """
        material,country,year,quantity,unit
        gallium,DEU,2023,inf,t
        """,
    )
    with pytest.raises(DataValidationError) as err:
        user_kb.import_file(path, "production")
    p = err.value.problems[0]
    assert str(p).startswith("inf.csv:2:quantity: infinite values are not allowed")
    assert user_kb.user is not None and not user_kb.user.root.exists()
