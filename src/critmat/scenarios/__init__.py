"""Disruption scenarios: monthly stock-flow simulation and Monte Carlo ensembles.

Answers questions such as "if China cuts gallium to Europe for 18 months, how much do we
lose, how long do our stocks last, and how likely is it?"::

    import critmat
    from critmat import scenarios

    kb = critmat.load()
    spec = kb.scenarios.preset("china-ga-ge-2023").spec      # from the event record
    result = kb.scenarios.run(spec, samples=2000, seed=1)    # or dask="local"
    result.summary                                           # per material statistics
    scenarios.RunStore().save(result)                        # keep it

``kb.scenarios.run(spec)`` is ``scenarios.run(kb, spec)``: the knowledge base comes first.

Modules: :mod:`~critmat.scenarios.spec` (pydantic models), :mod:`~critmat.scenarios.plan`
(names, contradictions, compilation), :mod:`~critmat.scenarios.baseline` (supply structure
and demand from the knowledge base), :mod:`~critmat.scenarios.engine` (the numpy
simulation), :mod:`~critmat.scenarios.sampling`, :mod:`~critmat.scenarios.runner` (local
and Dask), :mod:`~critmat.scenarios.stats`, :mod:`~critmat.scenarios.presets`,
:mod:`~critmat.scenarios.store` (persisted runs), :mod:`~critmat.scenarios.whatif` (the
assessment's small preset ensembles). Figures and HTML are drawn by
:mod:`critmat.report.scenario`.

Nothing heavy is imported until used (dask only when a cluster is asked for).
"""

from __future__ import annotations

from critmat.binding import lazy_exports

__all__ = [
    "EnsembleResult",
    "EnsembleSpec",
    "RunStore",
    "Scenario",
    "ScenarioSpecError",
    "Shock",
    "all_presets",
    "load_spec",
    "parse_spec",
    "preset",
    "run",
    "validate",
    "whatif",
]

_WHERE = {
    "EnsembleResult": "critmat.scenarios.result",
    "EnsembleSpec": "critmat.scenarios.spec",
    "Scenario": "critmat.scenarios.spec",
    "ScenarioSpecError": "critmat.errors",
    "Shock": "critmat.scenarios.spec",
    "load_spec": "critmat.scenarios.spec",
    "parse_spec": "critmat.scenarios.spec",
    "preset": "critmat.scenarios.presets",
    "all_presets": "critmat.scenarios.presets",
    "run": "critmat.scenarios.ensemble",
    "validate": "critmat.scenarios.plan",
    "RunStore": "critmat.scenarios.store",
    "whatif": "critmat.scenarios.whatif",
}


__getattr__, __dir__ = lazy_exports("critmat.scenarios", _WHERE, __all__)
