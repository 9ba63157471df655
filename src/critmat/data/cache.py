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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Cache"]

T = TypeVar("T")


class Cache:
    """Values built on first use, keyed by a hashable key; thread-safe."""

    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.RLock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """Return the value of ``key``, building it with ``build()`` the first time."""
        with self._lock:
            if key not in self._items:
                self._items[key] = build()
            value: T = self._items[key]
            return value

    def clear(self) -> None:
        """Forget every value (the data they were derived from may have changed)."""
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<critmat Cache: {len(self)} values>"
