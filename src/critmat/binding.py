"""Typed accessors: a package's public functions as methods of the knowledge base.

``kb.indicators.geopolrisk(materials=...)`` is :func:`critmat.indicators.geopolrisk.
geopolrisk` with the knowledge base bound as its first argument. :class:`bind` keeps the
function's real signature (without ``kb``), docstring, name and module, so ``help()``, an
IDE and mypy see the parameters (``**kwargs`` accessors erase them). The pattern every
accessor follows (``kb.indicators``, ``kb.defence``, ``kb.scenarios``, and next
``kb.optimize``, ``kb.policy``)::

    # critmat/<package>/accessor.py
    class Optimize(Accessor):
        '''Optimisation bound to a knowledge base (``kb.optimize``).'''

        stockpile = bind(stockpile.build_and_solve)  # def build_and_solve(kb, *, ...)

    # critmat/knowledge_base.py
    @cached_property
    def optimize(self) -> Optimize:
        from critmat.optimize.accessor import Optimize  # lazy: the documented exception

        return Optimize(self)

The function takes the knowledge base first (``f(kb, *, ...)``) and holds the calculation;
the accessor only binds it.

Examples
--------
>>> import inspect
>>> def area(kb: object, *, width: float, height: float = 1.0) -> float:
...     '''Area of a rectangle.'''
...     return width * height
>>> class Shapes(Accessor):
...     area = bind(area)
>>> shapes = Shapes(kb=None)
>>> shapes.area(width=3.0)
3.0
>>> list(inspect.signature(shapes.area).parameters)
['width', 'height']
>>> shapes.area.__doc__
'Area of a rectangle.'
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["Accessor", "bind", "lazy_exports"]

P = ParamSpec("P")
R = TypeVar("R")


class Accessor:
    """Base class of the knowledge-base accessors: holds the knowledge base.

    Parameters
    ----------
    kb
        The knowledge base every bound function receives first.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    def __repr__(self) -> str:
        names = sorted(n for n, v in type(self).__dict__.items() if isinstance(v, bind))
        return f"<critmat {type(self).__name__} accessor: {', '.join(names)}>"


class bind(Generic[P, R]):
    """Bind a function ``f(kb, *args, **kwargs)`` as a method ``accessor.f(*args, **kwargs)``.

    On an accessor instance the attribute is a function with the knowledge base bound and
    the signature, docstring, name and module of ``func``; on the class it is ``func``.

    Parameters
    ----------
    func
        Public function taking the knowledge base as its first positional parameter.
    """

    def __init__(self, func: Callable[Concatenate[Any, P], R]) -> None:
        self.func = func
        params = list(inspect.signature(func).parameters.values())
        if not params or params[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            msg = f"{func.__qualname__} must take the knowledge base as its first parameter"
            raise TypeError(msg)
        self.signature = inspect.signature(func).replace(parameters=params[1:])
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, obj: Accessor, owner: type | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: Accessor | None, owner: type | None = None) -> Any:
        func = self.func
        if obj is None:  # on the class: the function itself (help() shows it as a method)
            return func
        kb = obj._kb

        def method(*args: P.args, **kwargs: P.kwargs) -> R:
            return func(kb, *args, **kwargs)

        functools.update_wrapper(method, func)
        method.__signature__ = self.signature  # type: ignore[attr-defined]
        return method


def lazy_exports(
    package: str, where: Mapping[str, str], names: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` of a package whose public names load on first use.

    Parameters
    ----------
    package
        The package's name (for the error message).
    where
        ``{name: module}`` of every lazily exported name.
    names
        The package's ``__all__``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math"}, ["sqrt"])
    >>> getattr_("sqrt")(4.0), dir_()
    (2.0, ['sqrt'])
    """

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__
