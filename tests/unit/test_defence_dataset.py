"""The cited defence dataset: tables, kinds, sources, derived numbers, user-only tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmat.data.catalog import Catalog, embedded_dir
from critmat.defence.dataset import reference_bom, reference_build_rates, systems, uses
from critmat.knowledge_base import KnowledgeBase
from critmat.params import ParameterError

LB = 0.45359237  # kg per avoirdupois pound (units table)


def test_every_quantity_has_a_kind_and_a_declared_source(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    declared = set(kb.catalog.sources)
    assert len(u) >= 50 and u["use_id"].is_unique
    q = u[u["quantity"].notna()]
    assert set(q["kind"]) <= {"published", "derived", "assumption"}
    assert q["unit"].notna().all() and q["quantity_basis"].notna().all()
    for ids in u["source_id"]:
        assert set(ids.split(";")) <= declared, ids
    assert u["citation"].str.len().min() > 40
    # no number is an assumption in the shipped dataset: every one is published or derived
    assert set(q["kind"]) == {"published", "derived"}


def test_derived_rows_point_to_their_published_row(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses").set_index("use_id")
    derived = u[u["kind"] == "derived"]
    assert len(derived) == 3
    for _, row in derived.iterrows():
        src = u.loc[row["derived_from"]]
        assert src["kind"] == "published" and src["unit"] == "lb per unit"
        assert row["unit"] == "kg per unit" and row["system"] == src["system"]
        assert row["quantity"] == pytest.approx(src["quantity"] * LB, rel=1e-9)


def test_uses_filters_and_errors(kb: KnowledgeBase) -> None:
    assert set(uses(kb, materials="Ga")["material"]) == {"gallium"}
    assert len(uses(kb, system_classes="radar")) >= 2
    members = uses(kb, materials="rare earths", include_members=True)
    assert {"neodymium", "samarium", "rare_earths"} <= set(members["material"])
    with pytest.raises(ParameterError, match="did you mean 'radar'"):
        uses(kb, system_classes="radr")


def test_systems_and_reference_rates(kb: KnowledgeBase) -> None:
    s = systems(kb).set_index("system")
    assert s.loc["F-35 Lightning II", "materials"] == "dysprosium;rare_earths;terbium"
    assert s.loc["Patriot air and missile defence radar", "materials"] == "gallium"
    assert s["quantified"].sum() == 3
    r = reference_build_rates(kb)
    assert set(r["kind"]) == {"published"} and len(r) == 3
    placeholder = reference_build_rates(kb, default_build_rate=1.0)
    extra = placeholder[placeholder["kind"] == "assumption"]
    # every system without the reference rate (21 of 24) gets the placeholder
    assert len(extra) == len(s) - 3 and (extra["units_per_year"] == 1.0).all()


def test_reference_bom_never_invents_a_number(kb: KnowledgeBase) -> None:
    b = reference_bom(kb)
    assert set(b["kind"]) == {"derived"} and set(b["material"]) == {"rare_earths"}
    with_default = reference_bom(kb, default_intensity_kg=2.5)
    assumed = with_default[with_default["kind"] == "assumption"]
    assert len(assumed) > 0 and (assumed["kg_per_unit"] == 2.5).all()
    assert assumed["note"].str.contains("not a source figure").all()
    with pytest.raises(ParameterError, match=">= 0"):
        reference_bom(kb, default_intensity_kg=-1)


def test_user_only_tables_are_empty_typed_views(kb: KnowledgeBase) -> None:
    for name in ("bom", "build_rates"):
        spec = kb.catalog.table(name)
        assert spec.user_only and spec.path is None and spec.stats["rows"] == 0
        assert not (embedded_dir() / f"{name}.parquet").exists()
        frame = kb.table(name)
        assert frame.empty and list(frame.columns) == spec.field_names
    assert pd.api.types.is_float_dtype(kb.table("bom")["kg_per_unit"])


def test_store_view_of_a_table_without_file(tmp_path: Path) -> None:
    from critmat.data.store import Store

    cat = Catalog.load()
    store = Store(cat, tmp_path, None)  # an embedded folder without any Parquet file
    frame = store.query('select * from "defence_uses"')
    assert frame.empty and "use_id" in frame.columns
    store.close()
