"""The embedded policy event record: every seed event with its date, known errors kept, links.

Dates are cited next to each value: the seed timeline (seeds/002, Chinese, about 2015) as
written, and the primary documents the record's verification notes name.
"""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase


@pytest.fixture(scope="module")
def events(kb: KnowledgeBase) -> pd.DataFrame:
    return kb.table("policy_events").set_index("event_id")


def _day(value: object) -> str:
    return str(pd.Timestamp(value).date())


def test_every_seed_event_is_present(events: pd.DataFrame) -> None:
    seed = events[events["in_seed"]]
    # SOURCES.md of reference/policy-record: 75 seed events (intro 2, EU 37, US 13, Japan 23)
    assert len(seed) == 75
    sections = seed.index.str.extract(r"^SEED-([A-Z]+)-")[0].value_counts().to_dict()
    assert sections == {"INTRO": 2, "EU": 37, "US": 13, "JP": 23}
    assert seed["date"].notna().all() and seed["date_text"].notna().all()
    assert set(seed["source_id"]) == {"policy_record_2008_2025;seed_002_timeline"}
    assert len(events) == 168 and events.index.is_unique


@pytest.mark.parametrize(
    ("event_id", "date", "precision", "text"),
    [
        # seed: "2008年 ... 欧盟出台一项综合政策《欧盟原材料计划》(RMI)" (COM(2008) 699, 4.11.2008)
        ("SEED-EU-01", "2008-01-01", "year", "2008"),
        # seed: "2014年5月26日，欧委会发布了最新一期关键原材料清单 ... 从14种扩大到20种"
        ("SEED-EU-29", "2014-05-26", "day", "2014-05-26"),
        # seed: "2010年12月15日，美国能源部(DOE)发布《关键材料战略》"
        ("SEED-US-08", "2010-12-15", "day", "2010-12-15"),
        # seed: "2011年3月25日，日本产业省出台总额331亿日元的政府补助政策"
        ("SEED-JP-14", "2011-03-25", "day", "2011-03-25"),
        # seed: "同年7月23日，WTO成立专家组" (the same year as 2012年3月13日)
        ("SEED-EU-18", "2012-07-23", "day", "2012-07-23"),
        # seed: "2001年以来 出台有关环境、资源综合利用、废弃物处理等一系列法律"
        ("SEED-JP-04", "2001-01-01", "period", "2001 onward"),
        # seed: "2010年初，欧盟宣布建立稀土战略储备"
        ("SEED-EU-06", "2010-01-01", "period", "2010 (early)"),
        # seed: "2009年4月，国防部向国会提交了《国家战略安全储备重新配置报告》"
        ("SEED-US-02", "2009-04-01", "month", "2009-04"),
    ],
)
def test_seed_event_dates(
    events: pd.DataFrame, event_id: str, date: str, precision: str, text: str
) -> None:
    row = events.loc[event_id]
    assert bool(row["in_seed"])
    assert (_day(row["date"]), row["date_precision"], row["date_text"]) == (date, precision, text)
    assert row["year"] == int(date[:4])


def test_ranges_keep_their_end(events: pd.DataFrame) -> None:
    # seed: "2010年7月12日-13日，欧盟环境部长们讨论 ... '可持续的材料管理'的倡议"
    row = events.loc["SEED-EU-10"]
    assert (_day(row["date"]), _day(row["date_end"])) == ("2010-07-12", "2010-07-13")
    assert events.loc["SEED-JP-04", "date_end"] is pd.NaT or pd.isna(
        events.loc["SEED-JP-04", "date_end"]
    )


def test_seed_errors_stay_visible(events: pd.DataFrame) -> None:
    # the seed dates the WTO panel ruling 26 April 2014; the panel reports WT/DS431-433/R are
    # dated 26 March 2014 (a separate row holds that date)
    wrong = events.loc["SEED-EU-27"]
    assert _day(wrong["date"]) == "2014-04-26" and wrong["record_issue"] == "date_conflict"
    assert "26 March 2014" in wrong["verification_note"]
    assert _day(events.loc["EXT-CN-2014-03-26", "date"]) == "2014-03-26"
    # the seed puts a DOE 'critical materials strategy' in 2008; the strategy is of Dec 2010
    assert events.loc["SEED-INTRO-01", "record_issue"] == "date_conflict"
    # the seed lists the Eurasian Economic Union's tariff decision under the EU
    eaeu = events.loc["SEED-EU-26"]
    assert eaeu["record_issue"] == "actor_misattributed"
    assert eaeu["actor"] == "Eurasian Economic Union"
    # no source was found for an EU rare-earth reserve in early 2010
    assert events.loc["SEED-EU-06", "record_issue"] == "content_conflict"
    assert events.loc["SEED-EU-06", "evidence"] == "seed_only"


def test_actors_types_and_evidence_are_controlled(kb: KnowledgeBase, events: pd.DataFrame) -> None:
    spec = kb.catalog.table("policy_events")
    actors = set(spec.field("actors").enum or ())
    assert {a for v in events["actors"] for a in v.split(";")} <= actors
    assert (events["actor"] == events["actors"].str.split(";").str[0]).all()
    assert set(events["instrument_type"]) <= set(spec.field("instrument_type").enum or ())
    assert events.loc["EXT-MULTI-2022-06-14", "actors"] == "US;EU;Japan;multilateral"
    # evidence: primary where a primary URL was read; secondary rows have a secondary URL only
    sec = events[events["evidence"] == "secondary"]
    assert sec["primary_source_url"].isna().all() and sec["secondary_source_url"].notna().all()
    assert (events.loc[events["evidence"] == "primary", "primary_source_url"].notna()).all()


def test_materials_are_canonical_ids_with_a_long_form(
    kb: KnowledgeBase, events: pd.DataFrame
) -> None:
    known = set(kb.materials()["material"])
    listed = {m for v in events["materials"].dropna() for m in v.split(";")}
    assert listed <= known
    # WTO China - Raw Materials (DS394/395/398): coke and silicon carbide are no KB materials
    wto = events.loc["SEED-EU-02"]
    assert wto["materials_status"] == "partial"
    assert wto["materials_unresolved"] == "coke;silicon carbide"
    assert "phosphorus" in wto["materials"].split(";")  # 'yellow phosphorus' via the alias table
    long = kb.table("policy_event_materials", materials="gallium")
    assert {"SEED-EU-08", "LINK-CN-2023-23", "LINK-CN-2024-46"} <= set(long["event_id"])
    # NdPr is read as neodymium and praseodymium (curated)
    ndpr = kb.table("policy_event_materials").query("event_id == 'EXT-US-2021-02-01'")
    assert {"neodymium", "praseodymium"} <= set(ndpr["material"].dropna())
    # the long form and the event column agree
    all_long = kb.table("policy_event_materials")
    for eid, grp in all_long.dropna(subset=["material"]).groupby("event_id"):
        assert set(events.loc[eid, "materials"].split(";")) == set(grp["material"]), eid


def test_links_to_export_controls_resolve(kb: KnowledgeBase, events: pd.DataFrame) -> None:
    ec = kb.table("export_controls")
    linked = events.dropna(subset=["linked_project_event_id"])
    assert set(linked["linked_project_event_id"]) == set(ec["event_id"])  # all 10, both ways
    assert linked["linked_project_event_id"].is_unique
    assert (linked["linked_table"] == "export_controls").all()
    assert (linked["instrument_type"] == "export_control").all()
    # MOFCOM/GAC Announcement No. 23 [2023] on gallium and germanium: announced 3 July 2023
    first = ec[ec["event_id"] == "CN-2023-23"].iloc[0]
    assert _day(events.loc["LINK-CN-2023-23", "date"]) == _day(first["date_announced"])
    assert events.loc["LINK-CN-2023-23", "materials"] == "gallium;germanium"
    # the NATO list row points at the nato_2024 table, not at an export control
    nato = events.loc["EXT-NATO-2024-12-11"]
    assert nato["linked_table"] == "nato_2024" and pd.isna(nato["linked_project_event_id"])


def test_partnerships_point_at_their_event(kb: KnowledgeBase, events: pd.DataFrame) -> None:
    p = kb.table("eu_raw_material_partnerships").set_index("partnership_id")
    assert len(p) == 15
    dated = p[p["date_precision"] == "day"]
    assert dated["event_id"].notna().all()
    for pid, row in dated.iterrows():
        ev = events.loc[row["event_id"]]
        assert pd.Timestamp(ev["date"]) == pd.Timestamp(row["date_signed"]), pid
        assert "EU" in ev["actors"].split(";"), pid
    # EU-Chile MoU on sustainable raw materials value chains, EU-CELAC summit, 18 July 2023
    assert _day(p.loc["RMP-CHL-2023", "date_signed"]) == "2023-07-18"
    assert p.loc["RMP-CHL-2023", "materials"] == "lithium;copper"
    # the EU-US MoU of 2026: year only, no event row
    assert p.loc["RMP-USA-2026", "date_precision"] == "year"
