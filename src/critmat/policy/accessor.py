"""``kb.policy``: the policy layer as methods of the knowledge base.

Each attribute is a public function of :mod:`critmat.policy` with the knowledge base bound
first (:class:`critmat.binding.bind`): ``kb.policy.events(actors="EU")`` is
``critmat.policy.events.events(kb, actors="EU")``.

Examples
--------
>>> import critmat
>>> kb = critmat.load(user_data=False)
>>> len(kb.policy.events()) >= 168
True
"""

from __future__ import annotations

from critmat.binding import Accessor, bind
from critmat.policy.backtest import backtest
from critmat.policy.compare import compare
from critmat.policy.crma import benchmarks, single_country_test
from critmat.policy.events import events

__all__ = ["Policy"]


class Policy(Accessor):
    """Policy functions bound to a knowledge base (``kb.policy``)."""

    events = bind(events)
    compare = bind(compare)
    backtest = bind(backtest)
    crma_benchmarks = bind(benchmarks)
    single_country_test = bind(single_country_test)
