"""A cache of derived data owned by one knowledge base.

Values derived from the tables (supply shares reshaped for the scenario engine, year
coverage, group memberships, ...) live here, never in module-level state: the cache dies
with its knowledge base and is emptied whenever the data can change (``kb.close()``,
``kb.import_file()``, ``kb.remove_user_table()``), so a reused knowledge base never
computes with stale inputs.

Examples
--------
>>> cache = Cache()
>>> cache.get(("answer",), lambda: 42)
42
>>> cache.get(("answer",), lambda: 0)  # built once
42
>>> cache.clear(); len(cache)
0

A function of the knowledge base is computed once per knowledge base and arguments with
:func:`memoised` (``@memoised("defence.criticality")``): the key is the function's name and
its bound arguments made hashable by :func:`freeze`; arguments that cannot be frozen (data
frames, file paths whose contents may change) are not cached, the function simply runs.
Every call gets its own copy of a cached frame, so a caller that changes its result never
changes what the next caller sees.

With ``persist=True`` a value is also kept on disk between runs (the knowledge base's
:attr:`~critmat.knowledge_base.KnowledgeBase.results`, see :mod:`critmat.data.results`),
under a key that adds the state of the data and of the code to the arguments. In memory
such a value is kept as its pickled bytes: every call gets a new object.
"""

from __future__ import annotations

import copy
import enum
import functools
import hashlib
import inspect
import io
import pickle
import sys
import threading
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["Cache", "copied", "freeze", "memoised", "persistent"]

T = TypeVar("T")
P = ParamSpec("P")


class Cache:
    """Values built on first use, keyed by a hashable key; thread-safe."""

    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.RLock()
        #: id of a persistent value handed out -> (weak reference to it, its key digest,
        #: its pickle: a value whose content differs from it has no origin)
        self._origins: dict[int, tuple[weakref.ref[Any], str, bytes]] = {}
        #: key digest -> fingerprint of the content of its kept value
        self._marks: dict[str, bytes] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """Return the value of ``key``, building it with ``build()`` the first time."""
        with self._lock:
            if key not in self._items:
                self._items[key] = build()
            value: T = self._items[key]
            return value

    def peek(self, key: Hashable) -> Any:
        """The value of ``key`` if it was built, else ``None`` (nothing is built)."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` (a value built outside the lock)."""
        with self._lock:
            self._items[key] = value

    def clear(self) -> None:
        """Forget every value (the data they were derived from may have changed)."""
        with self._lock:
            self._items.clear()
            self._origins.clear()
            self._marks.clear()

    def remember_origin(self, value: Any, key: str, blob: bytes) -> None:
        """Note that ``value`` is the persistent value of key digest ``key``, pickled ``blob``.

        Nothing is computed here: :meth:`origin` compares the value with ``blob`` when, and
        only when, something asks for its origin.
        """
        try:
            ref = weakref.ref(value)
        except TypeError:
            return
        with self._lock:
            self._origins = {i: o for i, o in self._origins.items() if o[0]() is not None}
            self._origins[id(value)] = (ref, key, blob)

    def origin(self, value: Any) -> str | None:
        """The key digest of a persistent value this cache handed out (else ``None``).

        Results built from it (e.g. the report's sections from an assessment) can then be
        keyed by it. A value changed in place since it was handed out (its content differs
        from the kept one's) has no origin: what is built from it is computed, never read
        back. Costs two content fingerprints (tens of ms for an assessment).
        """
        with self._lock:
            hit = self._origins.get(id(value))
        if hit is None or hit[0]() is not value:
            return None
        _ref, key, blob = hit
        try:
            with self._lock:
                then = self._marks.get(key)
            if then is None:
                then = _fingerprint(pickle.loads(blob))
                with self._lock:
                    self._marks[key] = then
            same = _fingerprint(value) == then
        except Exception:  # not picklable any more: no origin
            return None
        return key if same else None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<critmat Cache: {len(self)} values>"


class _ContentPickler(pickle.Pickler):
    """Pickles pandas objects by their content, not their memory layout or caches.

    Reading a frame can change its pickle but not its content: pandas consolidates a
    frame's blocks, and extension dtypes and arrays (``Int64``, ...) fill their caches of
    derived properties when asked. A frame is therefore pickled column by column, a dtype
    by its description and a pandas object without its ``_cache``; a fingerprint must not
    see a read as a change. Nor a copy: a pydantic model is pickled by its fields.
    """

    def reducer_override(self, obj: Any) -> Any:
        fields_set = getattr(obj, "__pydantic_fields_set__", None)
        if isinstance(fields_set, set) and hasattr(type(obj), "model_fields"):
            # a pydantic model: its fields, and which were set in a stable order (a set's
            # iteration order depends on how it was built)
            kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
            extra = (getattr(obj, "__pydantic_extra__", None), obj.__pydantic_private__)
            return (tuple, ((kind, obj.__dict__, sorted(fields_set), extra),))
        pd = sys.modules.get("pandas")
        if pd is None:
            return NotImplemented
        if isinstance(obj, pd.DataFrame):
            columns = tuple(obj.iloc[:, i] for i in range(obj.shape[1]))
            return (tuple, ((obj.columns, obj.index, columns, obj.attrs),))
        if isinstance(obj, pd.CategoricalDtype):
            return (tuple, (("category", obj.categories, obj.ordered),))
        if isinstance(obj, pd.api.extensions.ExtensionDtype):
            return (str, (repr(obj),))
        if type(obj).__module__.startswith("pandas") and "_cache" in getattr(obj, "__dict__", {}):
            rv = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)  # e.g. an IntegerArray's
            if isinstance(rv, tuple) and len(rv) >= 3 and isinstance(rv[2], dict):
                return (*rv[:2], {k: v for k, v in rv[2].items() if k != "_cache"}, *rv[3:])
        return NotImplemented


def _fingerprint(value: Any) -> bytes:
    """SHA-256 of the content of ``value`` (its pickle, frames column by column).

    A few ms for an assessment.
    """
    buf = io.BytesIO()
    pickler = _ContentPickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: an object shared twice is written twice, as a copy is
    pickler.dump(value)
    return hashlib.sha256(buf.getbuffer()).digest()


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for an argument value (``TypeError`` when there is none).

    Scalars stay as they are; lists, tuples, sets and mappings become tuples (mappings
    sorted by key); a pydantic model becomes its class name and frozen fields. Data frames,
    arrays and paths (a file may change between two calls) cannot be frozen.

    Examples
    --------
    >>> freeze({"b": [1, 2], "a": None})
    ('__map__', (('a', None), ('b', ('__seq__', (1, 2)))))
    >>> freeze(["x"]) == freeze(("x",))
    True
    >>> from pathlib import Path
    >>> freeze(Path("bom.csv"))
    Traceback (most recent call last):
    ...
    TypeError: cannot use a PosixPath as a cache key
    """
    if value is None or isinstance(value, str | bytes | bool | int | float | enum.Enum):
        return value
    if isinstance(value, list | tuple):
        return ("__seq__", tuple(freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("__set__", frozenset(freeze(v) for v in value))
    if isinstance(value, Mapping):
        items = [(freeze(k), freeze(v)) for k, v in value.items()]
        return ("__map__", tuple(sorted(items, key=lambda kv: repr(kv[0]))))
    dump = getattr(value, "model_dump", None)  # pydantic models (e.g. DemandSource)
    if callable(dump) and hasattr(type(value), "model_fields"):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        return (type(value).__qualname__, freeze(fields))
    raise TypeError(f"cannot use a {type(value).__name__} as a cache key")


def copied(value: T) -> T:
    """A copy of a cached value that the caller may change.

    Frames and series (with their ``attrs``), and lists, dicts and tuples of them, are
    copied; anything else is returned as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"x": [1]}); f.attrs["critmat"] = {"notes": []}
    >>> g = copied(f); g.loc[0, "x"] = 2; g.attrs["critmat"]["notes"].append("n")
    >>> int(f.loc[0, "x"]), f.attrs
    (1, {'critmat': {'notes': []}})
    """
    if hasattr(value, "attrs") and callable(getattr(value, "copy", None)):  # frame or series
        out = value.copy(deep=True)  # type: ignore[attr-defined]
        out.attrs = copy.deepcopy(value.attrs)
        return out
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(copied(v) for v in value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [copied(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def persistent(
    kb: KnowledgeBase, key: Hashable, build: Callable[[], T], *, origin: bool = True
) -> T:
    """The value of ``key``: from memory, from the results kept on disk, or ``build()``.

    The disk key is the digest of ``key`` and :meth:`KnowledgeBase.state_key` (the data,
    the code, the library versions). Without a result store (no user data directory,
    ``CRITMAT_CACHE=off``) only the memory tier is used. A value that cannot be pickled is
    returned uncached; a stored file that cannot be read is computed again.

    Parameters
    ----------
    kb
        Knowledge base (its cache, its result store, its state).
    key
        The value's key (frozen function name and arguments).
    build
        Computes the value.
    origin
        Note the value's origin (:meth:`Cache.origin`), for results keyed by it (an
        assessment: the report's sections); ``False`` for values nothing is built from.

    Returns
    -------
    The value; a new object on every call (unpickled).
    """
    from critmat.data.results import digest

    cache = kb.cache
    mem_key = ("persistent", key)
    hit = cache.peek(mem_key)
    if hit is not None:
        dkey, blob = hit
        value: T = pickle.loads(blob)
        if origin:
            cache.remember_origin(value, dkey, blob)
        return value
    dkey = digest(key, kb.state_key())
    store = kb.results
    blob = store.get(dkey) if store is not None else None
    if blob is not None:
        try:
            value = pickle.loads(blob)
        except Exception:  # damaged in a way the checksum cannot see, or an old class
            store.discard(dkey)  # type: ignore[union-attr]
            blob = None
    if blob is None:
        value = build()
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # not picklable: the value is simply not kept
            return value
        if store is not None:
            store.put(dkey, blob)
    cache.put(mem_key, (dkey, blob))
    if origin:
        cache.remember_origin(value, dkey, blob)
    return value


def memoised(
    name: str,
    *,
    normalise: Callable[[KnowledgeBase, dict[str, Any]], dict[str, Any]] | None = None,
    persist: bool = False,
) -> Callable[
    [Callable[Concatenate[KnowledgeBase, P], T]], Callable[Concatenate[KnowledgeBase, P], T]
]:
    """Compute ``f(kb, ...)`` once per knowledge base and arguments, in ``kb.cache``.

    Parameters
    ----------
    name
        Name of the value in the cache (e.g. ``"defence.criticality"``).
    normalise
        ``(kb, arguments) -> arguments`` making equal what gives the same result (e.g. the
        default year and the latest year spelled out). If it raises, the function runs
        uncached (and raises its own error, in its own order).
    persist
        Also keep the value on disk between runs (:func:`persistent`).

    Notes
    -----
    The cache is emptied by every change of the data (``kb.import_file``,
    ``kb.remove_user_table``, ``kb.close``), so a cached value never outlives its inputs.
    Each call returns its own copy of a cached frame (:func:`copied`). The wrapper keeps
    the function's name, docstring and signature (``kb.<package>.<function>`` binds it).
    """

    def decorate(
        func: Callable[Concatenate[KnowledgeBase, P], T],
    ) -> Callable[Concatenate[KnowledgeBase, P], T]:
        sig = inspect.signature(func)
        first = next(iter(sig.parameters))

        @functools.wraps(func)
        def wrapper(kb: KnowledgeBase, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                bound = sig.bind(kb, *args, **kwargs)
                bound.apply_defaults()
                arguments = {k: v for k, v in bound.arguments.items() if k != first}
                if normalise is not None:
                    arguments = normalise(kb, arguments)
                key = ("memoised", name, freeze(arguments))
            except Exception:  # not cacheable: run as if undecorated
                return func(kb, *args, **kwargs)
            if persist:
                return persistent(kb, key, lambda: func(kb, *args, **kwargs))
            return copied(kb.cache.get(key, lambda: func(kb, *args, **kwargs)))

        return wrapper

    return decorate
