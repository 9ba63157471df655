"""The selection layer (kb.select) and the cache owned by the knowledge base: no stale state."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from critmat.errors import ParameterError, UnknownNameError
from critmat.knowledge_base import KnowledgeBase
from critmat.methods.dependency import attribute_trade
from tests.conftest import write_csv

SRC = Path(__file__).resolve().parents[2] / "src" / "critmat"


def test_one_attribution_for_kb_trade_and_the_indicators(kb: KnowledgeBase) -> None:
    # kb.trade(materials=...) and the indicators' selection give the same rows
    a = kb.trade(materials="tungsten", years=2022, importers="EU27")
    eu = kb.select.importer_units("EU27")["EU27"]
    b = kb.select.trade(materials=["tungsten"], years=[2022], importers=eu)
    keys = ["material", "stage", "year", "exporter", "importer", "hs6"]
    pd.testing.assert_frame_equal(
        a.sort_values(keys, ignore_index=True)[b.columns],
        b.sort_values(keys, ignore_index=True),
        check_like=False,
    )
    # and both equal the pure attribution of the raw rows through the HS mapping
    raw = kb.trade(years=2022, importers="EU27")
    c = attribute_trade(raw, kb.select.hs_codes(["tungsten"]))
    assert len(c) == len(a)
    assert float(c["quantity_t"].sum()) == pytest.approx(float(a["quantity_t"].sum()))
    # a code mapped to two materials counts for each (bituminous coal)
    coal = kb.select.hs_codes(["coking_coal", "steam_coal"])
    assert coal.groupby("hs6")["material"].nunique().max() == 2


def test_year_resolution_names_the_coverage(kb: KnowledgeBase) -> None:
    assert kb.select.coverage(["trade", "production"]) == (2018, 2024)
    assert kb.select.years("2020-2021", ["trade"], indicator="x") == [2020, 2021]
    with pytest.raises(ParameterError, match=r"no data for year.*2030.*cover 1995-2024"):
        kb.select.years(2030, ["trade"], indicator="x")
    assert kb.select.latest_year("trade") == 2024
    assert kb.select.one_year(None, ["trade", "production"], indicator="x") == 2024
    with pytest.raises(ParameterError, match="takes one year"):
        kb.select.one_year("2019-2020", ["trade"], indicator="x")
    assert kb.select.covered_years(["production", "trade"]) == list(range(2018, 2025))


def test_importer_units_and_groups(kb: KnowledgeBase) -> None:
    units = kb.select.importer_units("EU27,USA,AUKUS", groupby="AUKUS=AUS,GBR,USA")
    assert set(units) == {"EU27", "USA", "AUKUS"} and units["AUKUS"] == ["AUS", "GBR", "USA"]
    assert kb.select.countries("NATO") == kb.select.groups()["NATO"]
    assert kb.select.one_importer("Germany") == ("DEU", ["DEU"])
    with pytest.raises(ParameterError, match="one importer unit"):
        kb.select.one_importer("EU27,USA")
    with pytest.raises(ParameterError, match="shadows the built-in group"):
        kb.select.groups({"nato": ["USA"]})
    with pytest.raises(UnknownNameError, match="did you mean 'gallium'"):
        kb.select.materials("galium")


def test_governance_by_vintage_never_mixed(kb: KnowledgeBase) -> None:
    g = kb.select.governance("wgi_2024", [2022], columns=["country", "year", "vintage"])
    assert set(g["vintage"]) == {"wgi_2024"} and set(g["year"]) == {2022}
    with pytest.raises(UnknownNameError, match="did you mean 'wgi_2023', 'wgi_2024'"):
        kb.select.governance("wgi_2025")
    assert {"wgi_2023", "wgi_2024", "wgi_pv_geopolrisk"} <= set(kb.select.governance_vintages())
    assert "baci_hs92_v202401b" in kb.select.sources("trade", year=[2022])


def _sql_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("sql", "query")
    ]


#: Documented SQL outside the data layer: `critmat data query` (user-facing, kb.sql).
#: (The scenario run store writes its own DuckDB file with ``execute``; it never reads
#: the knowledge base's tables.)
_ALLOWED_SQL = {"cli/data.py"}


def test_no_raw_sql_outside_the_data_layer() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("data/") or rel == "knowledge_base.py" or rel in _ALLOWED_SQL:
            continue
        bad += [f"src/critmat/{rel}:{line}" for line in _sql_calls(path)]
    assert not bad, "SQL belongs in critmat.data (kb.select): " + ", ".join(bad)


def test_the_cache_belongs_to_the_knowledge_base(kb: KnowledgeBase) -> None:
    kb.select.coverage(["trade"])
    assert len(kb.cache) > 0
    other = KnowledgeBase(user_data=False)
    assert len(other.cache) == 0  # never shared between knowledge bases
    other.select.latest_year("trade")
    other.close()
    assert len(other.cache) == 0  # gone with the connection


def test_a_user_import_is_seen_by_a_reused_knowledge_base(
    user_kb: KnowledgeBase, tmp_path: Path
) -> None:
    """After an import that changes China's gallium processing share, the same knowledge
    base simulates the new share (the baseline cache used to outlive the import)."""
    shock = {"exporter": "CHN", "material": "gallium", "duration": 3}
    spec = {"name": "Ga", "horizon_months": 6, "shocks": [shock]}
    before = user_kb.scenarios.baseline(["gallium"]).table()["china_share"].iloc[0]
    run_before = user_kb.scenarios.run(spec, samples=20, seed=1)
    assert before == pytest.approx(0.69)  # EU 2023 study, EU sourcing at processing
    path = write_csv(
        tmp_path / "ga.csv",
        """
        material,stage,mix,country,share,share_bound
        gallium,processing,eu_sourcing,CHN,0.30,exact
        """,
    )
    user_kb.import_file(path, "eu_crm_2023", note="constructed share for the test")
    after = user_kb.scenarios.baseline(["gallium"]).table()["china_share"].iloc[0]
    assert after == pytest.approx(0.30)
    run_after = user_kb.scenarios.run(spec, samples=20, seed=1)
    assert run_after.baseline["china_share"].iloc[0] == pytest.approx(0.30)
    assert (
        run_after.summary["shortfall_mean"].iloc[0] < run_before.summary["shortfall_mean"].iloc[0]
    )
    user_kb.remove_user_table("eu_crm_2023")
    again = user_kb.scenarios.baseline(["gallium"]).table()["china_share"].iloc[0]
    assert again == pytest.approx(0.69)


def test_encoded_trade_holds_the_rows_of_the_attribution(kb: KnowledgeBase) -> None:
    # steam and coking coal share HS 270112: its rows come once per material
    codes = kb.select.hs_codes(["coking_coal", "steam_coal", "nickel"])
    where = {"years": [2021, 2022], "importers": ["DEU", "FRA", "USA"]}
    plain = kb.select.trade(codes=codes, **where)
    enc = kb.select.trade(codes=codes, encoded=True, **where)
    keys = ["material", "stage", "year", "exporter", "importer", "hs6"]
    assert all(isinstance(enc[c].dtype, pd.CategoricalDtype) for c in keys if c != "year")
    raw = kb.select.trade(**where)
    expected = attribute_trade(raw, codes)[list(plain.columns)]
    assert len(plain) == len(expected) > len(raw[raw["hs6"].isin(codes["hs6"])])
    pd.testing.assert_frame_equal(
        plain.sort_values(keys, ignore_index=True), expected.sort_values(keys, ignore_index=True)
    )
    decoded = enc.astype({c: plain[c].dtype for c in keys})
    pd.testing.assert_frame_equal(
        decoded.sort_values(keys, ignore_index=True)[list(plain.columns)],
        plain.sort_values(keys, ignore_index=True),
    )


def test_a_whole_small_table_is_read_once_and_every_caller_gets_a_copy(
    kb: KnowledgeBase,
) -> None:
    kb.cache.clear()
    a = kb.table("crma_2024")
    n = len(kb.cache)
    a.loc[:, "annex"] = "X"  # a caller's change never reaches the next caller
    a.attrs["critmat"]["notes"] = ["changed"]
    b = kb.table("crma_2024")
    assert len(kb.cache) == n and "X" not in set(b["annex"])
    assert b.attrs["critmat"].get("notes") != ["changed"]
    tables = {k for k in kb.cache._items if isinstance(k, tuple) and k[0] == "table"}
    kb.table("crma_2024", materials="gallium")  # a filtered read is not kept
    kb.table("countries", countries="FRA")
    assert {k for k in kb.cache._items if isinstance(k, tuple) and k[0] == "table"} == tables


def test_an_import_drops_the_cached_table(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    before = len(user_kb.table("eu_crm_2023"))
    path = write_csv(
        tmp_path / "ga.csv",
        """
        material,stage,mix,country,share,share_bound
        gallium,processing,global,XKX,0.01,exact
        """,
    )
    user_kb.import_file(path, "eu_crm_2023", note="constructed share for the test")
    assert len(user_kb.table("eu_crm_2023")) == before + 1
    user_kb.remove_user_table("eu_crm_2023")
    assert len(user_kb.table("eu_crm_2023")) == before
