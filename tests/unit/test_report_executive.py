"""The executive summary's data, its "what changed" and the figure source lines."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from critmat.assess import assess
from critmat.errors import ParameterError
from critmat.knowledge_base import KnowledgeBase
from critmat.report.executive import DATA_FORMAT, changes, read_previous, report_data


@pytest.fixture(scope="module")
def data(kb: KnowledgeBase) -> dict:
    a = assess(kb, materials="gallium,germanium,copper,neodymium", whatif_samples=0)
    return report_data(kb, a)


def test_report_data_is_json_and_cited(data: dict) -> None:
    assert data["format"] == DATA_FORMAT
    json.dumps(data)  # serialisable as written next to a report
    by = {m["material"]: m for m in data["materials"]}
    assert by["gallium"]["name"] == "Gallium"
    assert by["gallium"]["china_processing"] == pytest.approx(
        900 / 909
    )  # USGS MCS 2026 (2025e), the newest vintage
    assert by["copper"]["critical"] is False  # SR 0.1 < 1
    assert data["systems"] and data["systems"][0]["share_lost"] > 0
    assert data["actions"] == []  # none given here


def test_changes_lists_moves_above_thresholds(data: dict) -> None:
    assert changes(data, data).empty
    old = copy.deepcopy(data)
    by = {m["material"]: m for m in old["materials"]}
    by["gallium"]["china_processing"] = 0.70
    by["gallium"]["sr"] += 0.01  # below the 0.05 threshold: not listed
    by["copper"]["critical"] = True
    old["materials"] = [m for m in old["materials"] if m["material"] != "germanium"]
    old["dataset"] = "2025.1.0"
    diff = changes(old, data)
    rows = {(r.item, r.change): (r.before, r.after) for r in diff.itertuples()}
    assert rows[("report", "dataset version")] == ("2025.1.0", data["dataset"])
    assert rows[("Germanium", "newly assessed")][1] == "assessed"
    assert rows[("Gallium", "China share, processing")] == ("70%", "99%")
    assert rows[("Copper", "critical (EU thresholds)")] == ("yes", "no")
    assert ("Gallium", "supply risk (SR)") not in rows
    # criticality flips come before indicator moves
    kinds = list(diff["change"])
    assert kinds.index("critical (EU thresholds)") < kinds.index("China share, processing")


def test_read_previous_errors(tmp_path: Path, data: dict) -> None:
    with pytest.raises(ParameterError, match="no report data file"):
        read_previous(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ParameterError, match="not a readable JSON"):
        read_previous(bad)
    other = tmp_path / "r.json"
    other.write_text(json.dumps({"format": "x"}), encoding="utf-8")
    with pytest.raises(ParameterError, match="not a critmat report data file"):
        read_previous(tmp_path / "r.pdf")  # a report path finds its data file
    other.write_text(json.dumps(data), encoding="utf-8")
    assert read_previous(tmp_path / "r.html")["materials"] == data["materials"]


def test_figures_carry_their_sources(kb: KnowledgeBase) -> None:
    from critmat.report.assessment import assessment_report

    a = assess(kb, materials="gallium,germanium", whatif_samples=0, defence=False)
    report = assessment_report(kb, a)
    assert report.sections[0].key == "executive"
    page = report.render("html")
    assert isinstance(page, str)
    n_figures = page.count('class="plotly-graph-div"')
    assert n_figures >= 3
    assert page.count("figure-source") == n_figures
    assert "EU study on the critical raw materials" in page or "[eu_crm_2023" in page


def test_actions_come_from_the_decisions_section() -> None:
    import pandas as pd

    from critmat.report.builder import Section, Table, Text
    from critmat.report.executive import actions_from_section

    none, why = actions_from_section(None)
    assert none is None and "What to do" in why
    alloc = pd.DataFrame(
        {
            "material": ["gallium", "cobalt", "copper"],
            "stock_t": [12.5, 300.0, 0.0],
            "months_of_demand": [3.0, 1.5, 0.0],
            "purchase_cost_eur": [8.0e6, 9.9e6, 0.0],
            "expected_shortfall_t_before": [20.0, 500.0, 1.0],
            "expected_shortfall_t_after": [5.0, 200.0, 1.0],
            "rank": [2, 1, 3],
        }
    )
    section = Section("What to do", [Text("x"), Table(alloc)], key="what_to_do")
    acts, note = actions_from_section(section, {"gallium": "Gallium", "cobalt": "Cobalt"})
    assert acts is not None and "What to do" in note
    assert list(acts["material"]) == [
        "Cobalt",
        "Gallium",
    ]  # purchase order, nothing bought left out
    assert list(acts["cost_eur"]) == [9.9e6, 8.0e6]
    assert acts["action"].iloc[1] == "stockpile 12.5 t (3.0 months of EU demand)"
    assert acts["effect"].iloc[0] == "expected shortfall 500.0 t -> 200.0 t"
    empty = Section("What to do", [Text("No assessed material has a price.")], key="what_to_do")
    acts, note = actions_from_section(empty)
    assert acts is None and "No assessed material has a price" in note
