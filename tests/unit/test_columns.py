"""The result-column metadata (critmat.columns) describes every column critmat returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from critmat import columns
from critmat.knowledge_base import KnowledgeBase
from critmat.output import write_frame

ROOT = Path(__file__).resolve().parents[2]

#: family -> a call that returns a frame of it (small selections: fast)
CALLS: dict[str, Callable[[KnowledgeBase], pd.DataFrame]] = {
    "concentration": lambda kb: kb.indicators.concentration(
        materials="gallium,tungsten", adversaries="CHN,RUS"
    ),
    "dependency": lambda kb: kb.indicators.dependency(
        materials="tungsten,gallium", exporters="CHN", years=2022
    ),
    "net_import_reliance": lambda kb: kb.indicators.net_import_reliance(
        materials="tungsten", years=2022
    ),
    "geopolrisk": lambda kb: kb.indicators.geopolrisk(
        materials="graphite,germanium", importers="USA,EU27", years=2022, detail=True
    ),
    "eu_supply_risk": lambda kb: kb.indicators.eu_supply_risk(materials="tungsten,kaolin"),
    "criticality": lambda kb: kb.indicators.criticality(materials="tungsten", scheme="doe"),
    "defence.demand": lambda kb: pd.concat(
        [kb.defence.demand(by=b) for b in ("system", "programme", "material")]
    ),
    "defence.exposure": lambda kb: pd.concat(
        [kb.defence.exposure(), kb.defence.exposure(detail=True)]
    ),
    "defence.capability_at_risk": lambda kb: pd.concat(
        [kb.defence.capability_at_risk(), kb.defence.capability_at_risk(monthly=True)]
    ),
    "defence.capability_materials": lambda kb: pd.DataFrame(
        kb.defence.capability_at_risk().attrs["critmat_materials"]
    ),
    "defence.importance": lambda kb: kb.defence.importance(),
    "defence.criticality": lambda kb: kb.defence.criticality(),
    "defence.compare_lists": lambda kb: kb.defence.compare_lists(),
    "defence.energy_competition": lambda kb: kb.defence.energy(),
    "defence.shortfall_allocation": lambda kb: kb.defence.shortfall(shortfall=0.3),
    "scenario.summary": lambda kb: kb.scenarios.run(_SPEC, samples=30).summary,
    "scenario.monthly": lambda kb: kb.scenarios.run(_SPEC, samples=30).monthly,
    "optimize.baseline": lambda kb: kb.optimize.baseline(materials="tungsten,gallium,neon"),
    "policy.events": lambda kb: kb.policy.events(materials="gallium"),
    "policy.compare": lambda kb: kb.policy.compare().table,
    "policy.backtest": lambda kb: kb.policy.backtest(events="CN-2023-39", samples=20),
    "crma.benchmarks": lambda kb: kb.policy.crma_benchmarks(),
}
_SPEC = {"name": "t", "horizon_months": 6, "shocks": [{"exporter": "CHN", "material": "gallium"}]}


@pytest.fixture(scope="module")
def assessment(kb: KnowledgeBase) -> object:
    from critmat.assess import assess

    return assess(kb, materials="gallium,tungsten,rare_earths", whatif_samples=0)


def _check(family: str, frame: pd.DataFrame) -> None:
    fam = columns.family(family)
    missing = [c for c in frame.columns if fam.find(str(c)) is None]
    assert not missing, f"{family}: columns without metadata (add to critmat.columns): {missing}"
    for c in fam.columns:
        if c.statuses is None or c.free_text or c.name not in frame.columns:
            continue
        allowed = {m.value for m in c.statuses}
        values = set(frame[c.name].dropna().astype(str))
        assert values <= allowed, f"{family}.{c.name}: {values - allowed} not in {c.statuses}"


@pytest.mark.parametrize("family", sorted(CALLS))
def test_every_result_column_is_described(kb: KnowledgeBase, family: str) -> None:
    frame = CALLS[family](kb)
    _check(family, frame)
    prov = frame.attrs.get("critmat")
    if prov is not None and not family.startswith("scenario"):
        # units in the provenance are the metadata's (one spelling); the scenario results
        # keep the engine's own unit table (critmat.scenarios.result.UNITS)
        for col, unit in prov.get("units", {}).items():
            assert unit == columns.family(family).column(col).unit, (family, col)


def test_the_assessment_is_described(assessment: object) -> None:
    _check("assess", assessment.table)  # type: ignore[attr-defined]
    _check("assess.defence", assessment.defence)  # type: ignore[attr-defined]


def test_every_family_is_tested() -> None:
    assert set(columns.FAMILIES) == set(CALLS) | {"assess", "assess.defence"}


def test_docs_results_md_is_current() -> None:
    committed = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert committed == columns.results_markdown(), (
        "docs/results.md is stale: run `python -m critmat.columns`"
    )


def test_json_schema_for_the_api() -> None:
    s = columns.json_schema("geopolrisk")
    assert s["type"] == "object" and s["properties"]["score"]["x-unit"] == "fraction"
    assert "ok" in s["properties"]["status"]["enum"]
    assert "examples" in columns.json_schema("eu_supply_risk")["properties"]["status"]
    json.dumps(s)  # JSON-ready


def test_sidecars_carry_the_column_descriptions(kb: KnowledgeBase, tmp_path: Path) -> None:
    frame = kb.indicators.geopolrisk(materials="graphite", importers="EU27", years=2022)
    out = write_frame(frame, out=tmp_path / "g.csv")
    assert out is not None
    side = json.loads((tmp_path / "g.csv.provenance.json").read_text())
    assert side["result"] == "geopolrisk"
    assert side["columns"]["score"]["unit"] == "fraction"
    assert "hhi x import_risk" in side["columns"]["score"]["description"]
    assert "not_assessable" in side["columns"]["status"]["values"]


def test_unknown_names_say_what_is_valid() -> None:
    from critmat.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean 'geopolrisk'"):
        columns.family("geopolrsk")
    with pytest.raises(UnknownNameError, match="did you mean 'score'"):
        columns.family("geopolrisk").column("scor")
    assert columns.family("concentration").column("top5_share").unit == "fraction"
