"""User imports of policy events: ';'-separated list fields are checked item by item."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.data.validate import validate_frame
from critmat.errors import DataValidationError
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv

GOOD = """
    event_id,date,date_precision,date_text,actors,instrument_type,materials,summary
    USR-EU-1,2026-03-01,month,March 2026,EU;us,stockpile,Gallium; REE,EU joint purchase of gallium
    USR-JP-1,2026-01-15,day,,Japan,stockpile,,JOGMEC raises the rare-metal target
    """


def _problems(kb: KnowledgeBase, frame: pd.DataFrame) -> list:
    with pytest.raises(DataValidationError) as err:
        validate_frame(
            frame, kb.catalog.table("policy_events"), kb.validation_context(), row_base=2
        )
    return err.value.problems


def test_valid_event_round_trips(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    res = user_kb.import_file(write_csv(tmp_path / "ev.csv", GOOD), "policy_events")
    assert res.rows_in_file == 2
    events = user_kb.table("policy_events").set_index("event_id")
    assert len(events) == 168 + 2  # the embedded record plus the user's events
    row = events.loc["USR-EU-1"]
    assert row["actors"] == "EU;US" and row["actor"] == "EU"  # canonical spelling, derived lead
    assert row["materials"] == "gallium;rare_earths"  # names resolved through the alias table
    assert row["materials_status"] == "resolved" and row["year"] == 2026
    assert str(pd.Timestamp(row["date"]).date()) == "2026-03-01"
    assert row["source_id"] == res.import_id and not bool(row["in_seed"])
    assert events.loc["USR-JP-1", "materials_status"] == "none"
    # the embedded seed events are untouched
    assert int(events["in_seed"].sum()) == 75


def test_invalid_instrument_and_date_are_rejected(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        event_id,date,date_precision,actors,instrument_type,materials,summary
        USR-1,2026-02-30,day,EU,embargo,gallium,not a day
        USR-2,2026-02-01,fortnight,EU;Mars,stockpile,galium,unknown names
        """,
    )
    with pytest.raises(DataValidationError) as err:
        user_kb.import_file(bad, "policy_events")
    probs = {(p.row, p.column): p for p in err.value.problems}
    assert probs[(2, "date")].message == "not a valid date"
    assert "YYYY-MM-DD" in (probs[(2, "date")].expected or "")
    inst = probs[(2, "instrument_type")]
    assert inst.value == "embargo" and "export_control" in (inst.expected or "")
    assert probs[(3, "date_precision")].value == "fortnight"
    actor = probs[(3, "actors")]
    assert actor.value == "Mars" and "unknown value in a list" in actor.message
    mat = probs[(3, "materials")]
    assert mat.value == "galium" and "gallium" in mat.suggestions
    assert user_kb.user is None or user_kb.user.read_table("policy_events") is None
    assert len(user_kb.table("policy_events")) == 168  # nothing was imported


def test_supplied_derived_columns_must_agree(kb: KnowledgeBase) -> None:
    # a file critmat wrote carries its derived columns: they are recomputed and checked
    frame = pd.DataFrame(
        {
            "event_id": ["X", "Y"],
            "date": ["2026-01-01", "2026-01-01"],
            "date_precision": ["day", "day"],
            "actors": ["EU", "EU"],
            "instrument_type": ["law", "law"],
            "summary": ["s", "s"],
            "year": ["2026", "2025"],
        }
    )
    probs = _problems(kb, frame)
    assert len(probs) == 1
    assert probs[0].column == "year" and probs[0].value == "2025"


ACTORS = ["EU", "US", "Japan", "China", "NATO", "other"]


@given(st.lists(st.sampled_from(ACTORS), min_size=1, max_size=8), st.data())
def test_list_items_are_canonical_deduplicated_and_ordered(
    kb: KnowledgeBase, picks: list[str], data: st.DataObject
) -> None:
    cased = [data.draw(st.sampled_from([a, a.lower(), a.upper()])) for a in picks]
    frame = pd.DataFrame(
        {
            "event_id": ["X"],
            "date": ["2026-01-01"],
            "date_precision": ["day"],
            "actors": [" ; ".join(cased)],
            "instrument_type": ["law"],
            "summary": ["s"],
        }
    )
    out = validate_frame(frame, kb.catalog.table("policy_events"), kb.validation_context())
    expected = list(dict.fromkeys(picks))
    assert out.loc[0, "actors"].split(";") == expected
    assert out.loc[0, "actor"] == expected[0]


def test_list_of_materials_in_other_tables(kb: KnowledgeBase) -> None:
    spec = kb.catalog.table("crma_strategic_projects")
    frame = pd.DataFrame(
        {
            "project_id": ["U-1"],
            "project_name": ["My refinery"],
            "country": ["Germany"],
            "in_eu": ["yes"],
            "partner_status": ["member state"],
            "selection_date": ["2026-01-01"],
            "materials": ["Li;W;tungsten"],
            "stages": ["Processing;recycling"],
            "confidence": ["confirmed"],
        }
    )
    out = validate_frame(frame, spec, kb.validation_context())
    assert out.loc[0, "materials"] == "lithium;tungsten"
    assert out.loc[0, "stages"] == "processing;recycling"
    assert out.loc[0, "country"] == "DEU"
    assert spec.field("stages").expected().startswith("a ';'-separated list, each item one of")


def test_an_import_reaches_the_event_search_of_a_reused_kb(
    user_kb: KnowledgeBase, tmp_path: Path
) -> None:
    """``policy.events`` keeps its material long form in ``kb.cache``: an import empties it."""
    before = set(user_kb.policy.events(materials="gallium")["event_id"])  # fills the cache
    assert "USR-EU-1" not in before
    user_kb.import_file(write_csv(tmp_path / "ev.csv", GOOD), "policy_events")
    after = user_kb.policy.events(materials="gallium").set_index("event_id")
    assert set(after.index) == before | {"USR-EU-1"}
    assert after.loc["USR-EU-1", "matched_by"] == "gallium"
