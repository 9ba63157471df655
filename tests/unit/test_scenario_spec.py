"""Scenario specifications: validation says what, where and what is valid, before computing."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.scenarios.plan import validate
from critmat.scenarios.sampling import draw
from critmat.scenarios.spec import (
    EnsembleSpec,
    ScenarioSpecError,
    dump_spec,
    load_spec,
    parse_spec,
)

GA = {"exporter": "CHN", "material": "gallium", "duration": 12}


def problems(kb: KnowledgeBase, spec: dict) -> ScenarioSpecError:
    with pytest.raises(ScenarioSpecError) as err:
        validate(kb, spec)
    return err.value


def test_unknown_material_and_country_with_suggestions(kb: KnowledgeBase) -> None:
    err = problems(
        kb, {"shocks": [{"exporter": "Chnia", "material": ["gallium", "galium"], "duration": 12}]}
    )
    by = {p.column: p for p in err.problems}
    assert by["shocks[0].material[1]"].suggestions[0] == "gallium"
    assert "CHN (China)" in by["shocks[0].exporter"].suggestions
    assert "did you mean 'gallium'" in str(err)
    assert err.code == "scenario_invalid"


def test_impossible_numbers_are_located(kb: KnowledgeBase) -> None:
    err = problems(
        kb,
        {
            "shocks": [
                {
                    "exporter": "CHN",
                    "material": "gallium",
                    "severity": 1.2,
                    "duration": -3,
                    "leakage": {"dist": "uniform", "low": 0, "high": 1.5},
                }
            ],
            "mitigations": {"stocks": [{"initial_months": -1}]},
        },
    )
    msg = {p.column: p.message for p in err.problems}
    assert "severity is the share of flows cut, 0 to 1" in msg["shocks[0].severity"]
    assert "cannot be negative" in msg["shocks[0].duration"]
    assert "set high: 1" in msg["shocks[0].leakage"]
    assert "a stock cannot be below zero" in msg["mitigations.stocks[0].initial_months"]


def test_distribution_support_and_names(kb: KnowledgeBase) -> None:
    err = problems(
        kb,
        {
            "shocks": [
                {**GA, "duration": {"dist": "normal", "mean": 12, "sd": 4}},
                {**GA, "exporter": "USA", "onset": {"dist": "lognormall", "median": 3}},
            ]
        },
    )
    by = {p.column: p for p in err.problems}
    assert "can give values below 0" in by["shocks[0].duration"].message
    assert by["shocks[1].onset"].suggestions[0] == "lognormal"
    # all problems of the file at once, also the unknown names
    err = problems(kb, {"shocks": [{"exporter": "CHN", "material": "germainum", "severity": 2}]})
    assert set(err.locations) == {"shocks[0].severity", "shocks[0].material"}


def test_contradictory_shocks(kb: KnowledgeBase) -> None:
    err = problems(kb, {"shocks": [GA, {**GA, "onset": 6, "severity": 0.5}]})
    (p,) = err.problems
    assert p.column == "shocks[1]" and "contradicts shocks[0]" in p.message
    assert "CHN x gallium" in p.message and "months (0-12 and 6-18)" in p.message
    # sequential windows, other countries or other materials are fine
    validate(kb, {"shocks": [GA, {**GA, "onset": 12}]})
    validate(kb, {"shocks": [GA, {**GA, "exporter": "USA"}]})
    # a group overlapping a country is a contradiction too
    err = problems(
        kb, {"shocks": [{**GA, "exporter": "NATO"}, {**GA, "exporter": "USA", "onset": 3}]}
    )
    assert "USA x gallium" in err.problems[0].message
    # stages that disagree for one material
    err = problems(
        kb,
        {
            "shocks": [
                {**GA, "material": "nickel", "stage": "extraction"},
                {**GA, "material": "nickel", "stage": "processing", "exporter": "RUS"},
            ]
        },
    )
    assert err.locations == ["shocks[1].stage"]


def test_stage_data_tonnes_and_horizon(kb: KnowledgeBase) -> None:
    err = problems(kb, {"shocks": [{**GA, "stage": "extraction"}]})
    assert err.locations == ["shocks[0].stage"] and "expected processing" in str(err)
    err = problems(kb, {"shocks": [GA], "mitigations": {"stocks": [{"initial_t": 5}]}})
    assert err.locations == ["mitigations.stocks[0].initial_t"]
    assert "no baseline demand in tonnes" in str(err)
    err = problems(kb, {"horizon_months": 24, "shocks": [{**GA, "onset": 30}]})
    assert err.locations == ["shocks[0].onset"]
    err = problems(kb, {"shocks": [{**GA, "material": "pgm"}]})
    assert "no supply shares" in str(err) and "platinum" in str(err)
    err = problems(kb, {"materials": ["gallium"], "shocks": [{**GA, "material": "germanium"}]})
    assert "not among the simulated materials" in str(err)


def test_duplicate_policies_and_defence_checks(kb: KnowledgeBase) -> None:
    err = problems(
        kb,
        {
            "shocks": [GA],
            "mitigations": {
                "stocks": [
                    {"material": "gallium", "initial_months": 1},
                    {"material": "Ga", "initial_months": 2},
                ]
            },
        },
    )
    assert err.locations == ["mitigations.stocks[1].material"]
    # a policy for 'all' is overridden by a named one
    plan = validate(
        kb,
        {
            "shocks": [GA, {**GA, "material": "germanium"}],
            "mitigations": {
                "stocks": [{"material": "gallium", "initial_months": 1}, {"initial_months": 3}]
            },
        },
    )
    assert plan.stocks["gallium"]["initial"] == 1 and plan.stocks["germanium"]["initial"] == 3
    err = problems(
        kb,
        {
            "shocks": [GA],
            "defence": {
                "systems": [{"name": "radar", "build_rate": 2, "kg_per_unit": {"gallium": 0.5}}]
            },
        },
    )
    assert err.locations == ["defence.systems[0].kg_per_unit.gallium"]
    # with tonnes the systems give the defence share (constructed numbers)
    plan = validate(
        kb,
        {
            "shocks": [GA],
            "settings": {"gallium": {"annual_demand_t": 120}},
            "defence": {
                "systems": [{"name": "radar", "build_rate": 100, "kg_per_unit": {"gallium": 10}}]
            },
        },
    )
    share, basis = plan.defence_share["gallium"]
    assert share == pytest.approx(100 * 10 / 1000 / 10) and "systems" in basis
    err = problems(
        kb,
        {
            "shocks": [GA],
            "settings": {"gallium": {"annual_demand_t": 120}},
            "defence": {
                "share": {"gallium": 0.01},
                "systems": [{"name": "radar", "build_rate": 100, "kg_per_unit": {"gallium": 10}}],
            },
        },
    )
    assert err.locations == ["defence.share.gallium"]


def test_warnings_for_shocks_without_bite(kb: KnowledgeBase) -> None:
    plan = validate(kb, {"shocks": [{**GA, "exporter": "BRA"}]})
    assert any("no effect" in w for w in plan.warnings)


def test_unknown_field_and_bad_types(kb: KnowledgeBase) -> None:
    err = problems(kb, {"shocks": [{**GA, "duration": "long"}], "colour": "red"})
    by = {p.column: p for p in err.problems}
    assert by["colour"].message == "unknown field 'colour'"
    assert "not a number or a distribution" in by["shocks[0].duration"].message
    with pytest.raises(ScenarioSpecError, match="must be a mapping"):
        parse_spec([1, 2])


def test_yaml_and_json_files(tmp_path: Path, kb: KnowledgeBase) -> None:
    y = tmp_path / "ga.yaml"
    y.write_text(
        """
scenario:
  name: China cuts gallium for 18 months
  horizon_months: 36
  shocks:
    - exporter: China
      material: Ga
      duration: {dist: lognormal, median: 18, sigma: 0.4, high: 36}
      severity: {dist: uniform, low: 0.6, high: 1.0}
  mitigations:
    stocks: [{material: gallium, initial_months: 3, release_cap: 0.5}]
samples: 200
seed: 7
""",
        encoding="utf-8",
    )
    spec = load_spec(y)
    assert spec.samples == 200 and spec.scenario.shocks[0].uncertain
    plan = validate(kb, spec)
    assert plan.materials == ["gallium"] and plan.shocks[0].countries == ("CHN",)
    # round trip through YAML and JSON
    for fmt, suffix in (("yaml", ".yaml"), ("json", ".json")):
        path = tmp_path / f"again{suffix}"
        path.write_text(dump_spec(spec, fmt), encoding="utf-8")
        assert load_spec(path) == spec
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario:\n  shocks: [\n", encoding="utf-8")
    with pytest.raises(ScenarioSpecError) as err:
        load_spec(bad)
    assert err.value.problems[0].row is not None and "invalid YAML" in str(err.value)
    with pytest.raises(ScenarioSpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_error_pickles_for_dask() -> None:
    try:
        parse_spec({"shocks": [{"exporter": "CHN", "material": "x", "severity": 3}]})
    except ScenarioSpecError as exc:
        again = pickle.loads(pickle.dumps(exc))
        assert again.locations == exc.locations and str(again) == str(exc)
        assert again.to_dict()["problems"][0]["column"] == "shocks[0].severity"


def test_sampling_is_seeded_and_independent_per_shock() -> None:
    base = {
        "shocks": [
            {
                **GA,
                "duration": {"dist": "lognormal", "median": 18, "sigma": 0.5},
                "severity": {"dist": "beta", "a": 2, "b": 2},
                "probability": 0.5,
            }
        ]
    }
    spec = EnsembleSpec.model_validate({"scenario": base})
    a = draw(spec.scenario, 500, seed=11)
    b = draw(spec.scenario, 500, seed=11)
    np.testing.assert_array_equal(a.duration, b.duration)
    assert not np.array_equal(a.duration, draw(spec.scenario, 500, seed=12).duration)
    assert 0.4 < a.occurs.mean() < 0.6 and (a.severity >= 0).all() and (a.severity <= 1).all()
    two = EnsembleSpec.model_validate(
        {
            "scenario": {
                "shocks": [
                    *base["shocks"],
                    {
                        **GA,
                        "exporter": "USA",
                        "onset": {"dist": "triangular", "low": 0, "mode": 1, "high": 6},
                    },
                ]
            }
        }
    )
    c = draw(two.scenario, 500, seed=11)  # adding a shock leaves the first one's draws alone
    np.testing.assert_array_equal(a.duration[:, 0], c.duration[:, 0])
    choice = EnsembleSpec.model_validate(
        {
            "scenario": {
                "shocks": [
                    {**GA, "duration": {"dist": "choice", "values": [6, 12], "weights": [1, 3]}}
                ]
            }
        }
    )
    d = draw(choice.scenario, 4000, seed=1).duration[:, 0]
    assert set(np.unique(d)) == {6.0, 12.0} and 0.7 < (d == 12).mean() < 0.8
