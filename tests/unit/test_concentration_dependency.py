"""Concentration and dependency methods, and their knowledge-base indicators."""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.methods.concentration import concentration, hhi
from critmat.methods.dependency import (
    import_dependency,
    net_import_reliance,
    unit_flows,
    units_frame,
)
from critmat.params import ParameterError


def test_germanium_processing_hhi_test_vector() -> None:
    # METHODS.md §0.1 TV (processing): CHN 89.6 %, RUS 5.4 %, USA 2.1 %, JPN 1.9 %, UKR 1.0 %
    # -> HHI 0.806634 (shares as given, not renormalised)
    f = pd.DataFrame(
        {
            "m": "ge",
            "c": ["CHN", "RUS", "USA", "JPN", "UKR"],
            "s": [0.896, 0.054, 0.021, 0.019, 0.010],
        }
    )
    assert float(hhi(f, ["m"], value="s", normalise=False).iloc[0]) == pytest.approx(0.806634)


def test_germanium_processing_hhi_in_the_embedded_table(kb: KnowledgeBase) -> None:
    # The embedded EU 2023 table (Emilsson transcription) lists seven processors incl. the EU
    # members BE and DE: CN 83.1, RU 5.0, BE 4.5, DE 2.7, US 2.0, JP 1.8, UA 0.9 (%). The
    # METHODS TV above renormalises the non-EU shares; the full mix gives 0.69662.
    c = kb.indicators.concentration(materials="germanium", source="eu_crm_2023", stage="processing")
    assert c["hhi"].iloc[0] == pytest.approx(0.69662, abs=1e-9)
    assert c["top1_country"].iloc[0] == "CHN" and c["china_share"].iloc[0] == 0.831


@pytest.mark.parametrize(
    ("material", "value", "tol"),
    [
        # METHODS.md §0.1: geopolrisk-py "Testing case - tool.xlsx", 2022,
        # Nickel 0.26749007657640966
        # (exact match with the shared World Mining Data DB)
        ("nickel", 0.26749007657640966, 1e-9),
        # METHODS.md §0.1: values from the shared DB (newer vintage than the xlsx)
        ("manganese", 0.203336, 5e-7),
        ("graphite", 0.466744, 5e-7),
        ("gallium", 0.967896, 5e-7),
        ("germanium", 0.876404, 5e-7),
        ("tungsten", 0.600562, 5e-7),
        ("rare_earths", 0.521829, 5e-7),
        ("cobalt", 0.492897, 5e-7),
    ],
)
def test_wmd_2022_hhi(kb: KnowledgeBase, material: str, value: float, tol: float) -> None:
    c = kb.indicators.concentration(materials=material, years=2022, source="wmd")
    assert c["hhi"].iloc[0] == pytest.approx(value, abs=tol)


def test_concentration_columns_and_adversaries(kb: KnowledgeBase) -> None:
    c = kb.indicators.concentration(materials="gallium", years="2020-2022", adversaries="CHN,RUS")
    assert set(c["source"]) == {"wmd_bmf"}
    assert (c["adversary_share"] >= c["china_share"]).all()
    assert {"hhi_pct", "top3_share", "status"} <= set(c.columns)
    both = kb.indicators.concentration(materials="gallium")
    # default: World Mining Data and the newest supply-share vintage (USGS MCS 2026 for
    # gallium processing); the EU study's shares as published on request
    assert set(both["source"]) == {"wmd_bmf", "usgs_mcs2026"}
    study = kb.indicators.concentration(materials="gallium", source="eu_crm_2023")
    assert set(study["source"]) == {"eu_crm_2023"}
    old = kb.indicators.concentration(
        materials="gallium", source="supply_shares", supply_vintage="eu_crm_2023"
    )
    assert old["china_share"].iloc[0] == pytest.approx(study["china_share"].iloc[0])
    assert c.attrs["critmat"]["units"]["hhi"] == "fraction"
    with pytest.raises(ParameterError, match="importers= does not apply"):
        kb.indicators.concentration(importers="EU27")


def test_zero_supply_is_not_zero_concentration() -> None:
    f = pd.DataFrame(
        {
            "material": ["a", "a"],
            "stage": "e",
            "year": 1,
            "country": ["X", "Y"],
            "quantity_t": [0.0, 0.0],
        }
    )
    out = concentration(f)
    assert out["status"].iloc[0] == "no_supply" and out["hhi"].isna().all()


def _hand_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    # worked by hand: group G = {A, B}; X->A 10 t, A->B 5 t (domestic), B->Y 3 t, Z->A 30 t
    trade = pd.DataFrame(
        {
            "material": "m",
            "year": 2020,
            "exporter": ["X", "A", "B", "Z"],
            "importer": ["A", "B", "Y", "A"],
            "quantity_t": [10.0, 5.0, 3.0, 30.0],
            "value_kusd": [20.0, 10.0, 6.0, 60.0],
        }
    )
    return trade, units_frame({"G": ["A", "B"], "A": ["A"]})


def test_group_flows_exclude_internal_trade() -> None:
    trade, units = _hand_case()
    flows = unit_flows(trade, units)
    g = flows[flows["unit"] == "G"].set_index("partner")["quantity_t"]
    assert g.to_dict() == {"X": 10.0, "Z": 30.0}  # A->B is domestic for G
    a = flows[flows["unit"] == "A"].set_index("partner")["quantity_t"]
    assert a.to_dict() == {"X": 10.0, "Z": 30.0}
    dep = import_dependency(flows, country_sets={"z": ["Z"]}).set_index("importer")
    assert dep.loc["G", "import_hhi"] == pytest.approx(0.25**2 + 0.75**2)
    assert dep.loc["G", "z_share"] == pytest.approx(0.75)
    assert dep.loc["G", "top_origin"] == "Z"


def test_net_import_reliance_by_hand() -> None:
    trade, units = _hand_case()
    imp = unit_flows(trade, units, direction="imports")
    exp = unit_flows(trade, units, direction="exports")
    prod = pd.DataFrame({"material": "m", "year": 2020, "country": ["A"], "quantity_t": [2.0]})
    nir = net_import_reliance(imp, exp, prod, units, producing_materials=["m"])
    g = nir.set_index("importer").loc["G"]
    # imports 40, exports 3 (B->Y), production 2: (40 - 3) / (2 + 40 - 3) = 37 / 39
    assert g["nir"] == pytest.approx(37 / 39) and g["status"] == "ok"
    a = nir.set_index("importer").loc["A"]
    # A alone also exports 5 t to B: (40 - 5) / (2 + 35)
    assert a["nir"] == pytest.approx(35 / 37)
    none = net_import_reliance(imp, exp, prod, units, producing_materials=[])
    assert none["nir"].isna().all() and set(none["status"]) == {"no_production_data"}


def test_net_exporter_gets_zero() -> None:
    trade = pd.DataFrame(
        {
            "material": "m",
            "year": 1,
            "exporter": ["A", "X"],
            "importer": ["X", "A"],
            "quantity_t": [50.0, 5.0],
            "value_kusd": [1.0, 1.0],
        }
    )
    units = units_frame({"A": ["A"]})
    prod = pd.DataFrame({"material": "m", "year": 1, "country": ["A"], "quantity_t": [100.0]})
    nir = net_import_reliance(
        unit_flows(trade, units),
        unit_flows(trade, units, direction="exports"),
        prod,
        units,
        producing_materials=["m"],
    )
    assert nir["nir"].iloc[0] == 0.0 and bool(nir["net_exporter"].iloc[0])
    assert nir["status"].iloc[0] == "net_exporter"


def test_eu27_dependency_indicator(kb: KnowledgeBase) -> None:
    d = kb.indicators.dependency(materials="graphite,cobalt", years=2022, exporters="CHN")
    g = d[(d["material"] == "graphite") & (d["stage"] == "extraction")].iloc[0]
    assert g["importer"] == "EU27" and g["status"] == "ok"
    assert g["top_origin"] == "CHN" and 0 < g["china_share"] < 1
    assert g["exporters_share"] == pytest.approx(g["china_share"])
    assert 0.9 < g["nir"] <= 1.0  # EU natural graphite: almost all imported
    co = d[(d["material"] == "cobalt") & (d["stage"] == "extraction")].iloc[0]
    assert co["status"] == "no_hs_code"  # cobalt's HS codes are all processing-stage
    p = d[(d["material"] == "cobalt") & (d["stage"] == "processing")].iloc[0]
    assert p["nir_status"] == "no_production_data"  # WMD holds no refinery output
    assert d.attrs["critmat"]["parameters"]["importers"] == "EU27"


def test_user_groups(kb: KnowledgeBase) -> None:
    d = kb.indicators.dependency(
        materials="tungsten",
        importers="EU27,AUKUS,USA",
        years=2022,
        groupby={"AUKUS": ["AUS", "GBR", "USA"]},
        with_nir=False,
    )
    assert set(d["importer"]) == {"EU27", "AUKUS", "USA"}
    with pytest.raises(ParameterError, match="NAME=member"):
        kb.indicators.dependency(materials="tungsten", groupby=["AUKUS"])


def test_unmapped_material_is_reported_not_dropped(kb: KnowledgeBase) -> None:
    # gallium has no HS92 code of its own (reference/geopolrisk-data/SOURCES.md)
    d = kb.indicators.dependency(materials="gallium,tungsten", years=2022, with_nir=False)
    ga = d[d["material"] == "gallium"]
    assert len(ga) == 1 and ga["status"].iloc[0] == "no_hs_code"
    assert str(d["year"].dtype) == "Int64"


def test_missing_years_are_errors_that_say_what_is_covered(kb: KnowledgeBase) -> None:
    with pytest.raises(ParameterError, match=r"2030.*cover 2018-2024"):
        kb.indicators.concentration(materials="gallium", years=2030)
    with pytest.raises(ParameterError, match=r"1990.*cover 1995-2024"):
        kb.indicators.dependency(materials="graphite", years=1990)
    with pytest.raises(ParameterError, match=r"geopolrisk: no data for year\(s\) 2017"):
        kb.indicators.geopolrisk(materials="graphite", importers="EU27", years="2017-2018")
