"""GeoPolRisk against published test vectors and against the reference implementation.

1. METHODS.md §3.3: the test vectors of geopolrisk-py's ``tests/data/Testing case -
   tool.xlsx`` (sheet "GeoPolRisk", importer USA, year 2022; akoyamp/geopolrisk-py @
   b453938), fed through critmat's formula core with the spreadsheet's own inputs.
2. A sample of geopolrisk-py 2.0.1 results on its bundled data (tests/data/
   geopolrisk_peer_sample.csv, provenance next to it), reproduced by critmat in
   peer-compatible mode on the same data (critmat's embedded dataset is built from the
   files the peer bundles). Every difference is explained (docs/geopolrisk.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmat.indicators.geopolrisk import PEER_COMPATIBLE, geopolrisk_inputs
from critmat.knowledge_base import KnowledgeBase
from critmat.methods import geopolrisk as gpr

DATA = Path(__file__).resolve().parents[1] / "data"

# METHODS.md §3.3, from "Testing case - tool.xlsx", sheet "GeoPolRisk" (formulas in cells):
# material: (HHI, p t, sum g*f, F t, WTA, Score, Price kUSD/t, Midpoint, CF)
VECTORS = {
    "nickel (260400)": (
        0.26749007657640966,
        17500,
        21.179740941995366,
        37.495,
        0.0012076833631026191,
        0.00032304331527637555,
        4.8067742365648751,
        0.0015527962851649864,
        0.0037927385852119812,
    ),
    "manganese (260200)": (
        0.20351833729028621,
        0,
        191198.00347662019,
        350700.567,
        0.54518874922896887,
        0.11095590775245055,
        0.40073488389883327,
        0.044463902811067928,
        0.10860404642372944,
    ),
    "graphite (250410;250490)": (
        0.470663478647389,
        0,
        50585.910846903287,
        86586.111,
        0.5842266185959466,
        0.27497413262676956,
        2.2269069573987443,
        0.61234180905123825,
        1.4956581418407857,
    ),
}


@pytest.mark.parametrize("material", list(VECTORS))
def test_methods_3_3_usa_2022(material: str) -> None:
    hhi, p, num, f, wta, sc, price, mid, cf = VECTORS[material]
    assert gpr.import_risk(num, f, p) == pytest.approx(wta, rel=1e-9)
    assert gpr.score(hhi, num, f, p) == pytest.approx(sc, rel=1e-9)
    assert gpr.midpoint(sc, price) == pytest.approx(mid, rel=1e-9)
    assert gpr.cf_reference(sc, price) == pytest.approx(cf, rel=1e-9)


def test_methods_3_3_vectorised() -> None:
    cols = np.array(list(VECTORS.values())).T
    hhi, p, num, f, wta, sc, price, mid, cf = cols
    np.testing.assert_allclose(gpr.import_risk(num, f, p), wta, rtol=1e-9)
    np.testing.assert_allclose(gpr.score(hhi, num, f, p), sc, rtol=1e-9)
    np.testing.assert_allclose(gpr.midpoint(gpr.score(hhi, num, f, p), price), mid, rtol=1e-9)
    np.testing.assert_allclose(gpr.cf_reference(gpr.score(hhi, num, f, p), price), cf, rtol=1e-9)


def test_methods_3_3_trade_row_through_the_cube() -> None:
    # METHODS.md §3.3, sheet "Trade Data": graphite CHN -> USA 2022, 43,274.566 t,
    # 142,631.137 kUSD, g = 0.58821472525596596, g*q = 25,454.736950261173
    trade = pd.DataFrame(
        {
            "material": ["graphite"],
            "year": [2022],
            "exporter": ["CHN"],
            "importer": ["USA"],
            "quantity_t": [43274.566],
            "value_kusd": [142631.137],
        }
    )
    gov = pd.DataFrame({"country": ["CHN"], "year": [2022], "g": [0.58821472525596596]})
    prod = pd.DataFrame(
        {"material": ["graphite"], "country": ["CHN"], "year": [2022], "quantity_t": [1.0]}
    )
    r = gpr.geopolrisk_cube(
        trade, prod, gov, {"USA": ["USA"]}, materials=["graphite"], years=[2022]
    ).iloc[0]
    assert r["numerator"] == pytest.approx(25454.736950261173, rel=1e-12)


def test_copper_constant_of_the_reference_implementation() -> None:
    # geopolrisk-py core.GeoPolRisk: "Average CF of copper for OECD countries 2017-2021"
    assert gpr.CU_CF_REFERENCE == 0.409412948


# ----------------------------------------------------------------- the peer's own results

RTOL = 1e-8  # the peer truncates production to whole tonnes in its HHI (max 3e-9 seen)
COLUMNS = ("hhi", "import_risk", "score", "price", "cf")


@pytest.fixture(scope="module")
def peer() -> pd.DataFrame:
    return pd.read_csv(DATA / "geopolrisk_peer_sample.csv")


@pytest.fixture(scope="module")
def peer_g() -> pd.DataFrame:
    return pd.read_csv(DATA / "geopolrisk_peer_governance.csv")


def _critmat(kb: KnowledgeBase, peer: pd.DataFrame, peer_g: pd.DataFrame | None) -> pd.DataFrame:
    inputs = geopolrisk_inputs(
        kb,
        materials=sorted(set(peer["material"])),
        importers=sorted(set(peer["importer"])),
        years=sorted(set(peer["year"])),
    )
    gov = inputs.governance
    if peer_g is not None:  # the peer's WGI table where it differs from critmat's
        keys = pd.MultiIndex.from_frame(peer_g[["country", "year"]])
        gov = gov[~pd.MultiIndex.from_frame(gov[["country", "year"]]).isin(keys)]
        extra = peer_g[peer_g["peer_value"] == "value"].rename(columns={"g_peer": "g"})
        extra = extra[["country", "year", "g"]].dropna(axis=1, how="all")
        if not extra.empty:  # no empty or all-NA parts (pandas 2.2 warns about their dtypes)
            gov = pd.concat([gov, extra], ignore_index=True).reindex(columns=gov.columns)
    opts = {k: v for k, v in PEER_COMPATIBLE.items() if k != "governance_vintage"}
    ours = gpr.geopolrisk_cube(
        inputs.trade,
        inputs.production,
        gov,
        inputs.units,
        materials=inputs.materials,
        years=inputs.years,
        assessable=inputs.assessable,
        **opts,
    )
    return peer.merge(ours, on=["material", "importer", "year"], suffixes=("_peer", ""))


def _agree(m: pd.DataFrame) -> pd.Series:
    ok = pd.Series(True, index=m.index)
    for c in COLUMNS:
        ok &= np.isclose(m[c], m[f"{c}_peer"], rtol=RTOL, atol=1e-12)
    return ok


def test_sample_provenance() -> None:
    prov = json.loads((DATA / "geopolrisk_peer_sample.provenance.json").read_text())
    assert prov["peer"].startswith("geopolrisk-py 2.0.1")
    assert "compare_geopolrisk_peer.py" in prov["command"] and prov["date"]


def test_peer_sample_agrees_and_every_difference_is_explained(
    kb: KnowledgeBase, peer: pd.DataFrame, peer_g: pd.DataFrame
) -> None:
    m = _critmat(kb, peer, peer_g)
    assert len(m) == len(peer)
    agree = _agree(m)
    computed = m["status"].isin(["ok", "governance_filled"])
    # 1. the peer reports 0 where critmat has no value: no imports, germanium (no trade)
    no_trade = m["status"].isin(["no_imports", "no_import_quantity", "not_assessable"])
    assert (m.loc[no_trade, "score_peer"] == 0).all()
    assert m.loc[no_trade & (m["status"] != "no_imports"), "score"].isna().all()
    # 2. natural gas: the peer adds production in million m3 to imports in tonnes
    gas = m["status"] == "production_not_in_tonnes"
    assert set(m.loc[gas, "material"]) <= {"natural_gas"}
    # 3. the peer's WGI table stores 'nan' for French Polynesia 2018: its result is NaN
    peer_nan = m["score_peer"].isna()
    assert set(m.loc[peer_nan, "importer"]) <= {"NZL"}
    # 4. Guyana's gold: the peer credits French Guiana's WMD row to Guyana
    production = (m["material"] == "gold") & (m["importer"] == "GUY")
    explained = no_trade | gas | peer_nan | production
    assert agree[computed & ~explained].all(), m.loc[
        computed & ~explained & ~agree, ["material", "importer", "year"]
    ]
    assert (computed & ~explained).sum() >= 0.5 * len(m)


def test_without_the_peer_governance_only_tw_and_guyana_partners_differ(
    kb: KnowledgeBase, peer: pd.DataFrame, peer_g: pd.DataFrame
) -> None:
    plain = _critmat(kb, peer, None)
    emulated = _critmat(kb, peer, peer_g)
    computed = plain["status"].isin(["ok", "governance_filled"]) & plain["score_peer"].notna()
    differ = computed & ~_agree(plain)
    assert differ.any()  # Taiwan gets 0.5 in the peer: many importers buy from it
    # every such row is fixed by the peer's g for the partners in peer_g alone
    fixed = _agree(emulated)
    gold_guy = (plain["material"] == "gold") & (plain["importer"] == "GUY")
    assert (fixed | gold_guy)[differ].all()
    assert {"TWN", "GUY"} <= set(peer_g["country"])


# --------------------------------------------- the wide grid: 53 materials x 20 importers x 5 years


def test_wide_grid_differences_are_taiwan_and_guyana_governance(kb: KnowledgeBase) -> None:
    """Every peer row of the wide grid that differs by > 0.1 % has one of two named causes.

    The wide comparison (docs/geopolrisk.md: geopolrisk-py 2.0.1, 53 materials x G20 + EU27 x
    2018-2022, 4,901 rows both compute) leaves 369 rows whose peer-compatible score differs
    by more than 0.1 % (tin KOR 2020 30 %). The committed rows are reproduced to 1e-8 once
    the peer's own WGI join is used for two partners only: Taiwan (the peer finds no row
    for BACI 490 and fills 0.5) and Guyana (the peer takes the first of the bundled file's
    two GUY rows, French Guiana's series, which critmat's build drops).
    """
    wide = pd.read_csv(DATA / "geopolrisk_peer_wide_differences.csv")
    wg = pd.read_csv(DATA / "geopolrisk_peer_wide_governance.csv")
    prov = json.loads((DATA / "geopolrisk_peer_wide_differences.provenance.json").read_text())
    assert prov["peer"].startswith("geopolrisk-py 2.0.1") and "/work" not in json.dumps(prov)
    assert prov["grid"]["peer_rows"] == 5300 and prov["grid"]["rows_both_compute"] == 4901
    assert len(wide) == 369 == sum(prov["causes"].values())
    plain = _critmat(kb, wide, None)
    assert len(plain) == len(wide)
    assert plain["status"].isin(["ok", "governance_filled"]).all()
    rel = (plain["score"] - plain["score_peer"]).abs() / plain["score_peer"]
    assert (rel > 1e-3).all()  # they do differ in peer-compatible mode
    tin = plain.set_index(["material", "importer", "year"]).loc[("tin", "KOR", 2020)]
    assert tin["score_peer"] / tin["score"] - 1 == pytest.approx(0.4333, abs=1e-3)
    assert set(wide["material"]) >= {"bauxite", "vanadium", "tantalum", "platinum", "tungsten"}
    # the peer's g for Taiwan and Guyana alone reproduces every row
    both = _critmat(kb, wide, wg[wg["country"].isin(["TWN", "GUY"])])
    assert _agree(both).all()
    twn = _agree(_critmat(kb, wide, wg[wg["country"] == "TWN"]))
    guy = _agree(_critmat(kb, wide, wg[wg["country"] == "GUY"]))
    # 296 rows need Taiwan's g, 59 Guyana's, 14 both (the benchmark blames 16 on both: in two
    # of them Taiwan's g moves the score by less than the 1e-8 of this test)
    assert (int(twn.sum()), int(guy.sum()), int((~twn & ~guy).sum())) == (296, 59, 14)
    assert prov["causes"] == {"governance:TWN": 296, "governance:GUY": 57, "governance:GUY,TWN": 16}
