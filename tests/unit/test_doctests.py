"""Every module's doctests run (STYLE S12): examples in docstrings are tests.

The doctests are collected from the installed ``critmat`` package (not from ``src/`` by
path), so the same test works for an editable and a regular install, as in ``.ci/run``.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import critmat

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(critmat.__path__, "critmat.")
    if m.name != "critmat.__main__"
)


def _tests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    tests = _tests(name)
    if not tests:
        pytest.skip("no doctests")
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()


def test_doctests_are_found() -> None:
    # a guard against a finder that silently finds nothing
    with_examples = [n for n in MODULES if _tests(n)]
    assert len(with_examples) >= 25, with_examples
