"""The embedded datapackage: valid Frictionless descriptor, complete metadata, cited rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from critmat.data.catalog import Catalog, embedded_dir

TABLES_REQUIRED = {
    "trade",
    "production",
    "governance",
    "materials",
    "material_aliases",
    "countries",
    "eu_crm_2023",
    "eu_crm_2023_parameters",
    "eu_crm_2023_end_use",
    "usgs_mcs2026",
    "export_controls",
    "defence_facts",
    "crma_2024",
    "nato_2024",
    "units",
    "hs_codes",
    "policy_events",
    "policy_event_materials",
    "crma_strategic_projects",
    "crma_project_capacities",
    "crma_benchmarks",
    "eu_raw_material_partnerships",
    "nds_2013_shortfalls",
    "stockpile_facts",
    "usgs_mcs2026_ext",
    "usgs_mcs2026_salient_ext",
    "usgs_mcs2026_import_sources_ext",
    "supply_shares",
    "supply_vintages",
    "supply_checks",
    "prices",
    "price_units",
    "fx_rates",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_descriptor_is_a_valid_frictionless_package() -> None:
    from frictionless import Package

    descriptor = json.loads((embedded_dir() / "datapackage.json").read_text(encoding="utf-8"))
    report = Package.validate_descriptor(descriptor)
    assert report.valid, report.flatten(["type", "note"])
    package = Package.from_descriptor(descriptor, basepath=str(embedded_dir()))
    assert {r.name for r in package.resources} >= TABLES_REQUIRED


def test_every_field_is_described_and_every_table_is_cited(catalog: Catalog) -> None:
    assert set(catalog.tables) >= TABLES_REQUIRED
    for spec in catalog.tables.values():
        assert spec.description, spec.name
        assert spec.sources, spec.name
        for f in spec.fields:
            assert f.description, (spec.name, f.name)
        for sid in spec.sources:
            src = catalog.sources[sid]
            assert src.licenses, sid
            assert src.title and src.publisher, sid


def test_every_row_points_to_a_declared_source(catalog: Catalog) -> None:
    for spec in catalog.tables.values():
        if spec.user_only:  # schema only (bom, build_rates): no embedded rows
            continue
        frame = pd.read_parquet(embedded_dir() / spec.path, columns=["source_id"])
        ids = {s for v in frame["source_id"].dropna().unique() for s in v.split(";")}
        assert frame["source_id"].notna().all(), spec.name
        assert ids <= set(catalog.sources), (spec.name, ids - set(catalog.sources))
        assert ids <= set(spec.sources), (spec.name, ids - set(spec.sources))


def test_stats_match_files(catalog: Catalog) -> None:
    import hashlib

    for spec in catalog.tables.values():
        if spec.user_only:
            assert spec.path is None and spec.stats["rows"] == 0, spec.name
            continue
        path = embedded_dir() / spec.path
        assert spec.stats["rows"] == len(pd.read_parquet(path)), spec.name
        assert spec.stats["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_machine_paths_in_package_metadata() -> None:
    text = (embedded_dir() / "datapackage.json").read_text(encoding="utf-8")
    for marker in ("/work/", "/home/", "/root/", "/tmp/", "C:\\"):
        assert marker not in text


def test_unknown_table_suggests(catalog: Catalog) -> None:
    from critmat.errors import UnknownTableError

    with pytest.raises(UnknownTableError, match="did you mean 'trade'"):
        catalog.table("trdae")


def test_data_dictionary_is_up_to_date() -> None:
    from pathlib import Path

    from critmat.data.docs import render_data_dictionary

    committed = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"
    if not committed.exists():
        pytest.skip("docs not shipped with this copy of the tests")
    assert committed.read_text(encoding="utf-8") == render_data_dictionary(), (
        "docs/data-dictionary.md is stale: run `python -m critmat.data.docs`"
    )
