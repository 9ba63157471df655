"""Presets cite their events; the baseline comes from the knowledge base; runs on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.errors import UnknownNameError
from critmat.knowledge_base import KnowledgeBase
from critmat.scenarios.baseline import OTHER, build_baseline
from critmat.scenarios.presets import PRESET_EVENTS, all_presets, preset, preset_table
from critmat.scenarios.runner import run


def test_china_presets_cite_their_events(kb: KnowledgeBase) -> None:
    ec = kb.table("export_controls")
    presets = all_presets(kb)
    assert len(presets) == 7
    for name, (_, event) in PRESET_EVENTS.items():
        p = presets[name]
        rows = ec[ec["event_id"] == event]
        assert p.event_ids == (event,) and not p.hypothetical
        assert p.citation == rows["citation"].iloc[0] and p.citation.startswith(("http", "E", "T"))
        assert set(p.materials) == set(rows["material"].dropna())
        ev = p.spec.scenario.event
        assert ev is not None and ev.date_announced == str(rows["date_announced"].iloc[0].date())
        assert p.spec.scenario.assumptions  # every unsourced parameter is stated
        assert all(s.uncertain for s in p.spec.scenario.shocks)
    ga = presets["china-ga-ge-2023"]
    assert set(ga.materials) == {"gallium", "germanium"}
    # month 0 is the announcement (3 Jul 2023); the cut starts on 1 Aug 2023
    assert ga.spec.scenario.shocks[0].onset.support()[0] == pytest.approx(
        29 / (365.25 / 12), abs=1e-3
    )
    assert "suspended" in presets["china-rare-earths-oct-2025"].spec.scenario.description
    for name in ("china-full-cut", "russia-ti-ni-pd"):
        assert presets[name].hypothetical and "hypothetical" in presets[name].citation
    table = preset_table(kb)
    assert list(table["preset"]) == list(presets)
    with pytest.raises(UnknownNameError, match="did you mean 'china-graphite-2023'"):
        preset(kb, "china-graphite")


def test_every_preset_runs(kb: KnowledgeBase) -> None:
    for name, p in all_presets(kb).items():
        res = run(p.spec, kb, samples=40, seed=1)
        s = res.summary
        assert len(s) == (len(p.materials) if p.materials != ("all",) else len(s)), name
        assert (s["p_shortfall"] > 0).any(), name
        assert not res.meta["warnings"], (name, res.meta["warnings"])
    full = run(all_presets(kb)["china-full-cut"].spec, kb, samples=20)
    assert len(full.summary) > 60  # every material with EU sourcing shares
    ru = run(all_presets(kb)["russia-ti-ni-pd"].spec, kb, samples=20)
    assert (
        dict(zip(ru.summary["material"], ru.summary["mix"], strict=True))["palladium"] == "global"
    )


def test_baseline_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    b = build_baseline(kb, ["gallium", "graphite", "palladium", "antimony"])
    np.testing.assert_allclose(b.shares.sum(axis=1), 1.0)
    t = b.table().set_index("material")
    # EU 2023 study, EU sourcing of gallium at processing: China 69 %
    assert t.loc["gallium", "stage"] == "processing" and t.loc["gallium", "mix"] == "eu_sourcing"
    assert t.loc["gallium", "china_share"] == pytest.approx(0.69)
    # supply shares apply to the primary part; EoL-RIR (EU 2023) is recycled
    rir = float(kb.table("eu_crm_2023_parameters", materials="antimony")["eol_rir"].iloc[0])
    assert b.eol_rir[b.index("antimony")] == pytest.approx(rir)
    np.testing.assert_allclose(b.supply.sum(axis=1), 1.0 - b.eol_rir)
    # natural graphite is simulated at extraction, where apparent consumption gives tonnes
    assert t.loc["graphite", "stage"] == "extraction"
    assert t.loc["graphite", "annual_demand_t"] > 10_000
    assert "apparent consumption" in t.loc["graphite", "demand_basis"]
    assert np.isnan(t.loc["gallium", "annual_demand_t"])
    assert t.loc["gallium", "demand_basis"].startswith("normalised")
    assert "global supply shares stand in" in t.loc["palladium", "notes"]
    assert OTHER in b.countries
    user = build_baseline(
        kb, ["gallium"], annual_demand_t={"gallium": 50.0}, eol_rir={"gallium": 0.1}
    )
    assert user.annual_demand_t[0] == 50.0 and user.eol_rir[0] == 0.1
    frame = user.supplier_frame()
    assert frame["supply_share"].sum() == pytest.approx(0.9)


def test_no_shortfall_without_a_shock_on_real_data(kb: KnowledgeBase) -> None:
    res = run(
        {
            "name": "calm",
            "materials": ["gallium", "germanium", "graphite", "nickel", "tungsten", "cobalt"],
            "mitigations": {"stocks": [{"initial_months": 2}]},
        },
        kb,
        keep_arrays=True,
    )
    assert res.arrays is not None
    assert res.arrays["shortfall"].max() == 0 and (res.arrays["price"] == 1).all()
    assert (res.arrays["stock"] == 2.0).all()
    assert (res.summary["p_shortfall"] == 0).all()
    assert res.summary["months_to_stockout_p50"].isna().all()


def test_result_frames_units_and_tonnes(kb: KnowledgeBase) -> None:
    res = run(
        {
            "name": "graphite",
            "shocks": [
                {
                    "exporter": "CHN",
                    "material": "graphite",
                    "duration": {"dist": "uniform", "low": 6, "high": 18},
                }
            ],
        },
        kb,
        samples=64,
        seed=3,
    )
    s = res.summary.iloc[0]
    t = res.baseline["annual_demand_t"].iloc[0]
    assert s["shortfall_t_mean"] == pytest.approx(s["shortfall_mean"] * t / 12)
    assert s["shortfall_cvar95"] >= s["shortfall_p95"] - 1e-9
    assert s["shortfall_cvar95"] >= s["shortfall_mean"] - 1e-9
    prov = res.summary.attrs["critmat"]
    assert prov["parameters"]["samples"] == 64 and "eu_crm_2023_eus" in prov["sources"]
    assert prov["units"]["shortfall_mean"] == "months of baseline demand"
    m = res.monthly
    assert set(m["variable"]) == {"shortfall", "stock", "price"}
    assert len(m) == 3 * 60 and (m["p5"] <= m["p95"]).all()
    assert len(res.outcomes) == 64 and len(res.draws) == 64
    assert isinstance(res.frame("monthly"), pd.DataFrame)
    with pytest.raises(UnknownNameError, match="did you mean 'summary'"):
        res.frame("sumary")
    assert "graphite" in repr(res)


def test_defence_systems_through_the_whole_pipeline(kb: KnowledgeBase) -> None:
    # (constructed) 10 % of gallium and 80 % of germanium demand is defence; a radar needs
    # both, an IR sight germanium only; China cuts both for 12 months, defence served first
    res = run(
        {
            "shocks": [{"exporter": "CHN", "material": ["gallium", "germanium"], "duration": 12}],
            "mitigations": {"defence_first": True},
            "defence": {
                "share": {"gallium": 0.1, "germanium": 0.8},
                "systems": [
                    {
                        "name": "radar",
                        "build_rate": 5,
                        "kg_per_unit": {"gallium": 1, "germanium": 1},
                    },
                    {"name": "IR sight", "build_rate": 20, "kg_per_unit": {"germanium": 0.2}},
                ],
            },
        },
        kb,
    )
    s = res.summary.set_index("material")
    rest = 1 - res.baseline.set_index("material")["china_share"]  # what still arrives
    # gallium: China supplies 69 % of EU sourcing, the 31 % left covers the 10 % defence share
    assert rest["gallium"] > 0.1 and s.loc["gallium", "defence_shortfall_mean"] == 0
    # germanium: defence gets all that is left (of an 80 % share); the rest is missing
    # (germanium's EU-sourcing rows copy the global ones and are replaced by the global mix
    # split by import reliance 0.42: China 37 %, so 63 % still arrives, issue 12 item 5)
    assert res.baseline.set_index("material").loc["germanium", "mix_status"] == (
        "eu_sourcing_inconsistent"
    )
    served = rest["germanium"] / 0.8
    assert served < 1
    assert s.loc["germanium", "defence_shortfall_mean"] == pytest.approx(12 * (1 - served))
    systems = res.systems.set_index("system")
    # fixed recipe: germanium binds both systems
    assert systems.loc["IR sight", "not_built_mean"] == pytest.approx(20 * 12 * (1 - served))
    assert systems.loc["radar", "not_built_mean"] == pytest.approx(5 * 12 * (1 - served))
    assert systems.loc["radar", "planned"] == 5 * 60
    pro = run(
        {
            "shocks": [{"exporter": "CHN", "material": "gallium", "duration": 12}],
            "defence": {
                "share": {"gallium": 0.1},
                "systems": [{"name": "radar", "build_rate": 5, "kg_per_unit": {"gallium": 1}}],
            },
        },
        kb,
    )
    # pro rata, defence loses the same 69 % as everyone: 12 months x 0.69 x 5 radars
    assert pro.systems["not_built_mean"].iloc[0] == pytest.approx(12 * 0.69 * 5)
    assert pro.summary["defence_shortfall_mean"].iloc[0] == pytest.approx(12 * 0.69)
