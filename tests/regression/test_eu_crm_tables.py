"""The EU CRM tables built from the verbatim transcriptions (scripts/sources/*/SOURCES.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase

SOURCES = Path(__file__).resolve().parents[2] / "scripts" / "sources"


@pytest.mark.parametrize(
    ("path", "sha256"),
    [
        (
            "eu_crm_2023_published/critmat_eureport_results.csv",
            "c844be88cca676dd1910e3933cba524992a1722e8b5c1b58338ad646d0e37675",
        ),
        (
            "eu_crm_assessments/emilsson_dimension_CRMsOverTime.csv",
            "7dbcb284a429647effa3a4a737474f0c655c14b4eaecf79f22326ef0a02d774a",
        ),
    ],
)
def test_verbatim_copies_are_unchanged(path: str, sha256: str) -> None:
    file = SOURCES / path
    if not file.exists():  # installed wheel without the build sources
        pytest.skip("scripts/sources not present")
    assert hashlib.sha256(file.read_bytes()).hexdigest() == sha256


def test_published_2023_table(kb: KnowledgeBase) -> None:
    # CritMAT transcription of the 2023 results: 87 materials + HREE, LREE, PGM; the
    # duplicated Tungsten row is dropped
    p = kb.table("eu_crm_2023_published").set_index("material")
    assert len(p) == 90 and p.index.is_unique
    w = p.loc["tungsten"]
    assert (w["sr"], w["ei"], w["sr_extraction"], w["sr_processing"]) == (1.2, 8.7, 0.5, 1.2)
    # column shifts: SR_E sat in the processing-mix column
    cc = p.loc["coking_coal"]
    assert (cc["sr_extraction"], cc["sr_processing"]) == (1.0, 0.4)
    assert pd.isna(cc["mix_processing"]) and "column shift" in cc["transcription_note"]
    for m, sr_e in (
        ("diatomite", 0.3),
        ("magnesite", 0.6),
        ("natural_cork", 0.9),
        ("strontium", 2.6),
    ):
        assert p.loc[m, "sr_extraction"] == sr_e
    assert p.loc["lree", "sr_extraction"] == pytest.approx(2.81)  # transcribed '281%'
    assert p.loc["molybdenum", "mix_processing"] == "EUonly"  # transcribed 'EU'
    assert pd.isna(p.loc["praseodymium", "sr_processing"])  # empty, not invented
    assert "Emilsson" in p.loc["aluminium", "transcription_note"]
    assert set(p["mix_extraction"].dropna()) | set(p["mix_processing"].dropna()) == {
        "GS+EU",
        "GSonly",
        "EUonly",
    }


def test_assessments_2011_2023(kb: KnowledgeBase) -> None:
    a = kb.table("eu_crm_assessments")
    assert len(a) == 355 and sorted(a["year"].unique()) == [2011, 2014, 2017, 2020, 2023]
    assert not a["listed_name"].str.contains("\n").any()
    teak = a[a["material"] == "natural_teak_wood"].set_index("year")
    assert teak.loc[2023, "sr"] == 1.7 and pd.isna(teak.loc[2011, "sr"])
    x = a.set_index(["material", "year"])
    assert (x.loc[("tungsten", 2023), "sr"], x.loc[("tungsten", 2023), "ei"]) == (1.2, 8.7)
    assert (
        x.loc[("aluminium", 2023), "sr"] == 1.1 and "CritMAT" in x.loc[("aluminium", 2023), "note"]
    )
    assert pd.isna(x.loc[("bauxite", 2023), "sr"])
    assert {"hree", "lree", "pgm", "kaolin", "silica_sand"} <= set(a["material"])


def test_end_use_duplicates_dropped_and_split_applications_kept(kb: KnowledgeBase) -> None:
    u = kb.table("eu_crm_2023_end_use")
    mg = u[u["material"] == "magnesium"]
    assert (mg["application"] == "Construction").sum() == 1
    assert mg["share"].sum() == pytest.approx(1.0)
    pr = u[(u["material"] == "praseodymium") & (u["application"] == "Polishing powders")]
    assert sorted(pr["nace_code"]) == ["C23", "C26"] and pr["share"].tolist() == [0.02, 0.02]
