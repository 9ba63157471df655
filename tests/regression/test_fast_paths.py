"""The vectorised paths give exactly the frames of the loops they replaced (issue 11 item 2).

``previous_paths.py`` keeps the per-group and per-row implementations as they were; every
test here compares the fast path with them on the embedded data and on generated inputs
(values, dtypes and row order: ``check_exact``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.checks import flag_supply_shares
from critmat.knowledge_base import KnowledgeBase
from critmat.methods.supply import supplier_mix, vintage_summary
from critmat.policy.crma import benchmarks
from tests.regression import previous_paths as before

# ------------------------------------------------------------ methods.supply.supplier_mix


@pytest.mark.parametrize(
    ("vintage", "mix", "stages"),
    [
        ("newest", "eu_sourcing", ("extraction", "processing")),
        ("newest", "global", ("processing",)),
        ("eu_crm_2023", "eu_sourcing", ("extraction", "processing")),
        ("usgs_mcs2026", "eu_sourcing", ("processing",)),
    ],
)
def test_supplier_mix_as_the_group_loop_on_the_embedded_shares(
    kb: KnowledgeBase, vintage: str, mix: str, stages: tuple[str, ...]
) -> None:
    shares = kb.select.supply_shares(None, vintage=vintage)
    mats = sorted(set(shares["material"]))
    kw = {
        "stages": stages,
        "mix": mix,
        "import_reliance": kb.select.import_reliance(),
        "eu_countries": kb.select.groups()["EU27"],
    }
    old = before.supplier_mix_loop(shares, mats, **kw)  # type: ignore[arg-type]
    new = supplier_mix(shares, mats, **kw)  # type: ignore[arg-type]
    assert len(new) > 100  # a real frame, not an empty one
    pd.testing.assert_frame_equal(new, old, check_exact=True)


_COUNTRIES = ["CHN", "DEU", "FRA", "USA", None]
_FLAGS = [
    None,
    "eu_sourcing_copies_global",
    "eu_sourcing_inconsistent",
    "share_sum_deviates",
    "share_sum_deviates;eu_sourcing_inconsistent",
]


@st.composite
def _shares(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    ir_rows = []
    for m in ("a", "b", "c"):
        for stage in ("extraction", "processing"):
            for mix in ("global", "eu_sourcing"):
                n = draw(st.integers(0, 4))
                flag = draw(st.sampled_from(_FLAGS))
                for _ in range(n):
                    rows.append(
                        {
                            "vintage": draw(st.sampled_from(["v1", "v2"])),
                            "reference_years": "2020",
                            "material": m,
                            "stage": stage,
                            "mix": mix,
                            "country": draw(st.sampled_from(_COUNTRIES)),
                            # no subnormal shares: dividing by one overflows (not data)
                            "share": draw(st.floats(0.0, 1.0, allow_subnormal=False)),
                            "check_flag": flag,
                            "source_id": draw(st.sampled_from(["s1", "s2", None])),
                        }
                    )
            ir = draw(st.one_of(st.none(), st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)))
            if ir is not None:
                ir_rows.append({"material": m, "stage": stage, "import_reliance": ir})
    cols = ["vintage", "reference_years", "material", "stage", "mix", "country", "share"]
    frame = pd.DataFrame(rows, columns=[*cols, "check_flag", "source_id"])
    irf = pd.DataFrame(ir_rows, columns=["material", "stage", "import_reliance"])
    return frame, irf


@given(_shares(), st.sampled_from(["eu_sourcing", "global"]))
def test_supplier_mix_as_the_group_loop_on_generated_mixes(
    case: tuple[pd.DataFrame, pd.DataFrame], mix: str
) -> None:
    frame, irf = case
    kw = {"mix": mix, "import_reliance": irf, "eu_countries": ["DEU", "FRA"]}
    old = before.supplier_mix_loop(frame, ["a", "b", "c", "z"], **kw)  # type: ignore[arg-type]
    new = supplier_mix(frame, ["a", "b", "c", "z"], **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new, old, check_exact=True)


# ------------------------------------------------------------ policy.crma.benchmarks


def _undecorated(kb: KnowledgeBase, **kw: object) -> pd.DataFrame:
    out: pd.DataFrame = benchmarks.__wrapped__(kb, **kw)  # type: ignore[attr-defined]
    return out


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    strip = ("created",)
    a = {k: v for k, v in new.attrs["critmat"].items() if k not in strip}
    b = {k: v for k, v in old.attrs["critmat"].items() if k not in strip}
    assert a == b


@pytest.mark.parametrize("benchmark_set", ["final", "2023-proposal"])
def test_benchmarks_as_the_row_loop(kb: KnowledgeBase, benchmark_set: str) -> None:
    old = before.benchmarks_loop(kb, benchmark_set=benchmark_set)
    new = _undecorated(kb, benchmark_set=benchmark_set)
    assert (new["n_projects"] > 0).any() and (new["projects"] != "").any()
    _same(new, old)


def test_benchmarks_as_the_row_loop_with_your_tonnes_and_projects(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    consumption = pd.DataFrame(
        {
            "material": ["gallium", "gallium", "gallium", "lithium", "neodymium"],
            "stage": ["processing", "recycling", "extraction", "processing", "processing"],
            "year": [2024] * 5,
            "eu_consumption_t": [40.0, 40.0, 40.0, 500.0, 900.0],
            "eu_output_t": [2.0, 12.0, np.nan, 40.0, 10.0],
            "largest_third_country": ["CHN", None, "AUS", "CHL", "CHN"],
            "largest_third_country_t": [30.0, np.nan, 10.0, 300.0, 800.0],
            "source": ["constructed"] * 5,
        }
    )
    projects = pd.DataFrame(
        {
            "project": ["refinery A", "refinery B", "mine C", "plant D"],
            "material": ["gallium", "gallium", "lithium", "lree"],
            "stage": ["processing", "processing", "extraction", "processing"],
            "capacity_t_yr": [5.0, 0.1, 1000.0, 30.0],
            "status": ["permitting", "", "operating", "planned"],
            "in_eu": ["true", "true", "false", "true"],
        }
    )
    kw = {"consumption": consumption, "projects": projects}
    old = before.benchmarks_loop(kb, **kw)  # type: ignore[arg-type]
    new = _undecorated(kb, **kw)
    assert (new["user_projects_t_yr"] > 0).any()
    _same(new, old)
    ga = _undecorated(kb, materials="gallium", **kw)
    _same(ga, before.benchmarks_loop(kb, materials="gallium", **kw))  # type: ignore[arg-type]


def test_benchmarks_once_per_kb_and_your_files_never_cached(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    kb.cache.clear()
    a = kb.policy.crma_benchmarks()
    n = len(kb.cache)
    a.loc[:, "value"] = -1.0  # a caller's change never reaches the next caller
    b = kb.policy.crma_benchmarks()
    assert len(kb.cache) == n and (b["value"] != -1.0).any()
    kb.policy.single_country_test()
    m = len(kb.cache)
    kb.policy.single_country_test()
    assert len(kb.cache) == m  # the test reads the cached tracker and is cached itself
    path = tmp_path / "projects.csv"
    path.write_text("project,material,stage,capacity_t_yr,in_eu\nA,gallium,processing,5,true\n")
    kb.policy.crma_benchmarks(projects=str(path))
    kb.policy.crma_benchmarks(projects=path)
    assert len(kb.cache) == m  # a file's contents may change: read afresh each time


# ------------------------------------------------------------ checks and vintages


def test_flag_supply_shares_as_before_on_the_embedded_rows(kb: KnowledgeBase) -> None:
    frame = kb.sql("select * from supply_shares")
    kw = {
        "import_reliance": kb.select.import_reliance(),
        "eu_countries": kb.select.groups()["EU27"],
    }
    new, new_flags = flag_supply_shares(frame, **kw)  # type: ignore[arg-type]
    old, old_flags = before.flag_supply_shares_loop(frame, **kw)  # type: ignore[arg-type]
    assert new["check_flag"].notna().sum() > 50
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    pd.testing.assert_frame_equal(new_flags, old_flags, check_exact=True)
    # the EU 2023 study's own table: no vintage column, another set of keys
    eu = kb.eu_crm_2023()
    pd.testing.assert_frame_equal(
        flag_supply_shares(eu, **kw)[0],  # type: ignore[arg-type]
        before.flag_supply_shares_loop(eu, **kw)[0],  # type: ignore[arg-type]
        check_exact=True,
    )


@given(_shares())
def test_flag_supply_shares_and_vintages_as_before_on_generated_rows(
    case: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    frame, irf = case
    frame = frame.assign(reference_year=2020)
    kw = {"import_reliance": irf, "eu_countries": ["DEU", "FRA"]}
    new = flag_supply_shares(frame, **kw)  # type: ignore[arg-type]
    old = before.flag_supply_shares_loop(frame, **kw)  # type: ignore[arg-type]
    for a, b in zip(new, old, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(
        vintage_summary(new[0]), before.vintage_summary_loop(old[0]), check_exact=True
    )


def test_vintage_summary_as_before_on_the_embedded_rows(kb: KnowledgeBase) -> None:
    rows = kb.select._checked_supply_shares()
    new = vintage_summary(rows)
    assert new["check_flags"].notna().any() and new["newest"].any()
    pd.testing.assert_frame_equal(new, before.vintage_summary_loop(rows), check_exact=True)


@pytest.mark.parametrize("vintage", ["newest", "eu_crm_2023", "usgs_mcs2026"])
def test_supply_shares_a_selection_of_the_sorted_rows_as_before(
    kb: KnowledgeBase, vintage: str
) -> None:
    for materials in (None, ["gallium", "germanium", "unknown"], ["rare_earths"]):
        for stage in (None, "processing", "extraction"):
            for mix in (None, "global", "eu_sourcing"):
                new = kb.select.supply_shares(materials, stage=stage, mix=mix, vintage=vintage)
                old = before.supply_shares_merge(
                    kb, materials, stage=stage, mix=mix, vintage=vintage
                )
                pd.testing.assert_frame_equal(new, old, check_exact=True)
    a = kb.select.supply_shares(["gallium"], vintage=vintage)
    a.loc[:, "share"] = -1.0  # the cached rows never change
    assert (kb.select.supply_shares(["gallium"], vintage=vintage)["share"] >= 0).all()


# ------------------------------------------------------------ scenarios.result.assemble


@pytest.mark.parametrize("exact_monthly_mb", [None, 0.0])  # exact, and the monthly sketch
def test_assemble_as_before(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, exact_monthly_mb: float | None
) -> None:
    from critmat.scenarios import runner
    from critmat.scenarios.presets import all_presets

    spec = all_presets(kb)["china-rare-earths-apr-2025"].spec
    kw = {"samples": 120, "seed": 7, "exact_monthly_mb": exact_monthly_mb}
    new = runner.run(spec, kb, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(runner, "assemble", before.assemble_by_column)
    old = runner.run(spec, kb, **kw)  # type: ignore[arg-type]
    assert len(new.summary) > 1 and (new.monthly["percentile_error"] > 0).any() == (
        exact_monthly_mb == 0.0
    )
    for name in ("summary", "monthly", "systems", "baseline", "outcomes", "draws"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)


@pytest.mark.parametrize("vintage", ["newest", "eu_crm_2023"])
def test_supply_options_as_before(kb: KnowledgeBase, vintage: str) -> None:
    from critmat.scenarios.baseline import _shares, supply_options

    new = supply_options(kb, vintage)
    assert len(new) > 50 and new["vintage"].str.len().gt(0).all()
    pd.testing.assert_frame_equal(
        new, before.supply_options_lambdas(_shares(kb, vintage)), check_exact=True
    )


# ------------------------------------------------------------ indicators.eu_crm.eu_supply_risk


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"materials": ["tungsten", "gallium", "rare_earths", "uranium"]},
        {"materials": "gallium", "stage": "processing"},
        {"wgi_years": "2016-2020", "corrections": True},
        {"stage": "extraction", "wgi_measure": "pv"},
        {"materials": "assess"},  # the assessment's CRMA list, rare_earths not covered
        {"materials": "every", "stage": "processing"},
    ],
)
def test_eu_supply_risk_a_selection_of_every_material_as_before(
    kb: KnowledgeBase, kw: dict[str, object]
) -> None:
    from critmat.assess import crma_materials
    from critmat.indicators.eu_crm import eu_supply_risk

    if kw.get("materials") == "assess":
        kw = {**kw, "materials": crma_materials(kb)}
    elif kw.get("materials") == "every":
        kw = {**kw, "materials": list(kb.materials()["material"])}
    new = eu_supply_risk.__wrapped__(kb, **kw)  # type: ignore[attr-defined]
    old = before.eu_supply_risk_one_pass(kb, **kw)  # type: ignore[arg-type]
    assert len(new) > 0
    _same(new, old)


def test_eu_supply_risk_every_selection_filters_one_frame(kb: KnowledgeBase) -> None:
    from critmat.assess import crma_materials

    kb.cache.clear()
    kb.indicators.eu_supply_risk(materials=crma_materials(kb))  # with an uncovered material
    n = len(kb.cache)
    kb.indicators.eu_supply_risk()  # defence criticality: every covered material
    kb.indicators.eu_supply_risk(materials=["uranium", "gallium"])
    every = [k for k in kb.cache._items if "eu_supply_risk_all" in str(k)]
    assert len(every) == 1
    assert len(kb.cache) == n + 2  # the two selections only, no second frame of all


@pytest.mark.parametrize("mix", ["eu_sourcing", "global"])
def test_supply_mix_a_selection_of_every_material_as_before(kb: KnowledgeBase, mix: str) -> None:
    for vintage in ("newest", "eu_crm_2023"):
        for stages in (("extraction", "processing"), ("processing",)):
            for materials in (
                None,
                ["germanium", "gallium", "arsenic", "palladium"],
                ["rare_earths", "neodymium"],
                ["unknown"],
            ):
                kw = {"stages": stages, "mix": mix, "vintage": vintage}
                new = kb.select.supply_mix(materials, **kw)  # type: ignore[arg-type]
                old = before.supply_mix_direct(kb, materials, **kw)  # type: ignore[arg-type]
                pd.testing.assert_frame_equal(new, old, check_exact=True)
    a = kb.select.supply_mix(["gallium"], mix=mix)
    a.loc[:, "share"] = -1.0  # the cached mix never changes
    assert (kb.select.supply_mix(["gallium"], mix=mix)["share"] >= 0).all()


# ------------------------------------------------------------ scenarios.baseline consumption


def test_apparent_consumption_per_material_as_the_pass_per_set(kb: KnowledgeBase) -> None:
    from critmat.assess import crma_materials
    from critmat.scenarios.baseline import _apparent_consumption

    every = sorted(kb.materials()["material"])
    sets = [
        crma_materials(kb),  # the report asks for these, then a dozen
        ["gallium", "germanium", "tungsten", "cobalt", "lithium", "graphite"],
        [],  # the presets' default
        every,
        ["feldspar"],
        every[::7],
    ]
    kb.cache.clear()
    for needed in sets:  # one kb: later sets reuse the rows of the earlier ones
        new = _apparent_consumption(kb, needed)
        old = before.apparent_consumption_by_set(kb, needed)
        assert len(new) > 0
        pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_apparent_consumption_computes_each_material_once(kb: KnowledgeBase) -> None:
    from critmat.scenarios.baseline import _apparent_consumption

    kb.cache.clear()
    calls: list[object] = []
    nir = kb.indicators.net_import_reliance

    def counted(**kw: object) -> pd.DataFrame:
        calls.append(kw["materials"])
        return nir(**kw)  # type: ignore[arg-type]

    kb.indicators.net_import_reliance = counted  # type: ignore[method-assign]
    try:
        a = _apparent_consumption(kb, ["gallium", "cobalt"])
        b = _apparent_consumption(kb, ["cobalt"])
        _apparent_consumption(kb, ["gallium", "tungsten"])
    finally:
        del kb.indicators.net_import_reliance
    assert len(calls) == 2 and calls[1] == ["tungsten"]
    assert list(b["material"]) == [m for m in a["material"] if m != "gallium"]
