"""Capability at risk shows what it rests on; scenario_systems run in the scenario engine.

Hand calculations (issue 12, item 3) with the cited inputs next to each value:

* China's share of global neodymium processing 84.9 % (EU 2023 CRM study, global supply
  shares, ``eu_crm_2023_gs``), end-of-life recycling input rate 1 % (EU 2023): a full cut
  for 12 months leaves ``156 x 0.849 x 0.99 = 131.1`` of 156 F-35 unbuilt pro rata;
* defence first with the DoD's < 5 % of US rare-earth use (CRS 2013): served
  ``min(1, 0.16 / 0.05) = 1``: 0 unbuilt;
* at the magnet stage, China 94 % of rare-earth magnet manufacturing (IEA 2025 commentary,
  ``intermediate_supply``): ``156 x 0.94 = 146.6`` unbuilt pro rata.
"""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.defence.bom import DemandSource
from critmat.errors import ParameterError
from critmat.knowledge_base import KnowledgeBase


def _f35(frame: pd.DataFrame) -> pd.Series:
    return frame[frame["system"].str.startswith("F-35")].iloc[0]


def test_both_rules_side_by_side_with_their_assumptions(kb: KnowledgeBase) -> None:
    r = kb.defence.capability_at_risk(exporters="CHN", cut=1.0, months=12)
    f = _f35(r)
    assert f["planned_units"] == pytest.approx(156.0)  # CRS RL30563: 156/yr planned peak
    assert f["not_built_pro_rata"] == pytest.approx(156 * 0.849 * 0.99, rel=1e-3)
    assert f["not_built_defence_first"] == pytest.approx(0.0)
    assert f["producer_country"] == "USA"
    text = f["assumptions"]
    assert "pro rata" in text and "defence-first" in text
    assert "rare_earths -> neodymium" in text  # the proxy is named
    assert "outside the EU: global supply shares" in text  # no EU sourcing for a US platform
    assert "CRS 2013" in text and "assumption" in text  # the US defence share is flagged
    assert bool(f["rests_on_assumption"])  # proxy and a US share standing in for the EU
    pro = kb.defence.capability_at_risk(exporters="CHN", allocation="pro_rata")
    assert _f35(pro)["not_built_mitigated"] == pytest.approx(f["not_built_pro_rata"])
    with pytest.raises(ParameterError, match="allocation must be one of"):
        kb.defence.capability_at_risk(allocation="first_come")


def test_magnet_stage_of_its_own(kb: KnowledgeBase) -> None:
    r = kb.defence.capability_at_risk(exporters="CHN", stage="intermediate")
    f = _f35(r)
    assert f["not_built_pro_rata"] == pytest.approx(156 * 0.94)  # IEA: China 94 % of magnets
    assert "magnet manufacturing" in f["assumptions"] and "CHN 94%" in f["assumptions"]
    assert "neodymium" not in f["assumptions"]  # the magnet mix is rare earths' own: no proxy
    # your own defence share: nothing rests on an assumption any more
    own = kb.defence.capability_at_risk(
        exporters="CHN", stage="intermediate", defence_share={"rare_earths": 0.05}
    )
    assert not bool(_f35(own)["rests_on_assumption"])
    assert "your input" in _f35(own)["assumptions"]
    # no published GaAs-wafer shares: the user's supplier share is used, and said so
    bom = pd.DataFrame(
        {
            "system": ["Rafale"],
            "component": ["RBE2 T/R modules"],
            "material": ["gallium"],
            "kg_per_unit": [0.5],
            "kind": ["assumption"],
            "source": ["illustrative"],
        }
    )
    rates = pd.DataFrame(
        {"programme": ["FR"], "system": ["Rafale"], "units_per_year": [24], "source": ["x"]}
    )
    src = DemandSource(bom=bom, build_rates=rates)
    gaas = kb.defence.capability_at_risk(stage="intermediate", demand=src)
    assert gaas["not_built_pro_rata"].iloc[0] == pytest.approx(0.0)
    assert "no published supplier shares" in gaas["assumptions"].iloc[0]
    given = kb.defence.capability_at_risk(
        stage="intermediate", supplier_share={"gallium": 0.5}, demand=src
    )
    assert given["not_built_pro_rata"].iloc[0] == pytest.approx(24 * 0.5)
    assert "supplier share given by you" in given["assumptions"].iloc[0]
    # an EU-built system keeps the EU sourcing shares
    eu = kb.defence.capability_at_risk(demand=src)
    assert "EU producer: EU sourcing shares" in eu["assumptions"].iloc[0]
    assert eu["producer_country"].iloc[0] == "FRA"


def test_scenario_systems_run_in_the_scenario_engine(kb: KnowledgeBase) -> None:
    systems = kb.defence.scenario_systems()
    assert all(s["name"].endswith("(assumption: rare_earths as neodymium)") for s in systems)
    spec = {
        "shocks": [{"exporter": "CHN", "material": "neodymium", "duration": 12}],
        # DoD < 5 % of US rare-earth use (CRS 2013), the only cited defence share
        "defence": {"share": {"neodymium": 0.05}, "systems": systems},
    }
    r = kb.scenarios.run(spec, samples=20, seed=1)
    assert len(r.systems) == 3
    assert set(r.systems["planned"]) == {10.0, 780.0}  # 60 months x 13/month (156/yr)
    # without a proxy the engine refuses rare_earths (no supply shares): the proxy is needed
    raw = kb.defence.scenario_systems(proxies={})
    assert list(raw[0]["kg_per_unit"]) == ["rare_earths"]
