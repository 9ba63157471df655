"""Typed accessors: kb.indicators, kb.defence and kb.scenarios keep the real signatures."""

from __future__ import annotations

import inspect
import pydoc

import pytest

import critmat.scenarios
from critmat.binding import Accessor, bind
from critmat.defence.accessor import Defence
from critmat.indicators.accessor import Indicators
from critmat.knowledge_base import KnowledgeBase
from critmat.optimize.accessor import Optimize
from critmat.scenarios.accessor import Scenarios

ACCESSORS = {"indicators": Indicators, "defence": Defence, "scenarios": Scenarios}
ACCESSORS["optimize"] = Optimize  # decisions (issue 13)


def _bound(cls: type[Accessor]) -> list[str]:
    return sorted(n for n, v in vars(cls).items() if isinstance(v, bind))


@pytest.mark.parametrize("name", sorted(ACCESSORS))
def test_bound_methods_keep_signature_and_docstring(kb: KnowledgeBase, name: str) -> None:
    accessor = getattr(kb, name)
    assert isinstance(accessor, ACCESSORS[name])
    methods = _bound(ACCESSORS[name])
    assert len(methods) >= 6
    for m in methods:
        func = vars(ACCESSORS[name])[m].func
        first = next(iter(inspect.signature(func).parameters))
        assert first == "kb", f"{func.__qualname__}: the knowledge base comes first"
        bound = getattr(accessor, m)
        expected = list(inspect.signature(func).parameters)[1:]
        assert list(inspect.signature(bound).parameters) == expected, m
        assert bound.__doc__ == func.__doc__ and bound.__doc__, m
        assert getattr(ACCESSORS[name], m) is func  # on the class: the function itself
        assert m in repr(accessor)


def test_help_shows_the_parameters(kb: KnowledgeBase) -> None:
    text = pydoc.render_doc(kb.indicators.geopolrisk, renderer=pydoc.plaintext)
    for p in ("materials", "importers", "governance_vintage", "missing_governance"):
        assert p in text
    assert "GeoPolRisk score, midpoint and characterisation factors" in text
    assert "kb" not in str(inspect.signature(kb.defence.exposure))


def test_accessors_call_the_functions(kb: KnowledgeBase) -> None:
    from critmat.defence.exposure import exposure

    a = kb.defence.exposure(by="material", stage="processing")
    b = exposure(kb, by="material", stage="processing")
    assert a.drop(columns=[]).equals(b)
    shock = {"exporter": "CHN", "material": "gallium", "duration": 3}
    spec = {"name": "Ga", "horizon_months": 6, "shocks": [shock]}
    r1 = kb.scenarios.run(spec, samples=20, seed=3)
    r2 = critmat.scenarios.run(kb, spec, samples=20, seed=3)
    assert r1.summary.equals(r2.summary)
    assert "china-ga-ge-2023" in kb.scenarios.presets()
    assert kb.scenarios.preset("china-ga-ge-2023").name == "china-ga-ge-2023"


def test_bind_refuses_a_function_without_the_knowledge_base() -> None:
    def f(*, x: int) -> int:
        return x

    with pytest.raises(TypeError, match="knowledge base as its first parameter"):
        bind(f)  # type: ignore[arg-type]
