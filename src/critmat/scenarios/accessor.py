"""``kb.scenarios``: disruption scenarios as methods of the knowledge base.

Each attribute is a public function of :mod:`critmat.scenarios` with the knowledge base
bound first (:class:`critmat.binding.bind`): ``kb.scenarios.run(spec)`` is
``critmat.scenarios.run(kb, spec)``.

Examples
--------
>>> import critmat
>>> kb = critmat.load(user_data=False)
>>> "china-ga-ge-2023" in kb.scenarios.presets()
True
"""

from __future__ import annotations

from critmat.binding import Accessor, bind
from critmat.scenarios.baseline import build_baseline, supply_options
from critmat.scenarios.ensemble import run
from critmat.scenarios.plan import load_checked, validate
from critmat.scenarios.presets import all_presets, preset, preset_table
from critmat.scenarios.whatif import whatif

__all__ = ["Scenarios"]


class Scenarios(Accessor):
    """Scenario functions bound to a knowledge base (``kb.scenarios``)."""

    run = bind(run)
    validate = bind(validate)
    load = bind(load_checked)
    presets = bind(all_presets)
    preset = bind(preset)
    preset_table = bind(preset_table)
    baseline = bind(build_baseline)
    supply_options = bind(supply_options)
    whatif = bind(whatif)
