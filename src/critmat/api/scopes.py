"""Private user data per owner: one user data directory per scope, layered over the shared one.

The served data directory ``D`` holds the *shared* tables (imported with ``critmat data import
--data-dir D``: the operator's data, seen by every token). Each scope (``user-<name>``, or
``team-<team>`` for tokens created with ``--team``) has its own user data directory
``D/api/scopes/<scope>``, written through the API only, with the same commit protocol
(:class:`critmat.data.userdata.UserData`: filelock, immutable table files, atomic manifest).

A scope's knowledge base reads the shared tables and the scope's own tables: a table the
scope imported replaces the shared table of that name *for that scope* (per table, not per
row), everything else is the shared version. No other scope ever reads another's directory:
the directory is chosen from the authenticated token, never from the request.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from critmat.data.userdata import Snapshot, UserData
from critmat.knowledge_base import KnowledgeBase

__all__ = ["LayeredUserData", "ScopeData", "scope_dir"]

_SCOPE = re.compile(r"(user|team)-[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def scope_dir(data_dir: Path, scope: str) -> Path:
    """The private user data directory of ``scope`` under the served ``data_dir``.

    Raises
    ------
    ValueError
        For a scope that is not ``user-<name>`` or ``team-<name>`` (never from a request).
    """
    if not _SCOPE.fullmatch(scope):
        raise ValueError(f"not a scope: {scope!r}")
    return data_dir / "api" / "scopes" / scope


class LayeredUserData(UserData):
    """Read-only view of a shared user data directory with a private one on top.

    Parameters
    ----------
    shared
        The served data directory (its tables are seen by every scope).
    private
        The scope's directory; its tables replace the shared tables of the same name.
    """

    def __init__(self, shared: Path, private: Path) -> None:
        super().__init__(private)
        self.shared = UserData(shared)
        self.private = UserData(private)

    def manifest(self) -> dict[str, Any]:
        """The merged manifest (the private tables win; both import logs)."""
        a, b = self.shared.manifest(), self.private.manifest()
        return {
            **b,
            "tables": {**a["tables"], **b["tables"]},
            "imports": list(a["imports"]) + list(b["imports"]),
            "retired": [],
        }

    def snapshot(self, names: Any = None) -> Snapshot:
        """One snapshot of each directory, merged table by table."""
        a, b = self.shared.snapshot(names), self.private.snapshot(names)
        tables = {k: v for k, v in a.tables.items() if k not in b.tables} | b.tables
        manifest = {
            **b.manifest,
            "tables": {
                **{k: v for k, v in a.manifest["tables"].items() if k not in b.tables},
                **b.manifest["tables"],
            },
            "imports": list(a.manifest["imports"]) + list(b.manifest["imports"]),
            "retired": [],
        }
        return Snapshot(manifest=manifest, tables=tables)

    def update_table(self, *args: Any, **kwargs: Any) -> Any:
        """Writes go to :attr:`private` (never to the merged view)."""
        return self.private.update_table(*args, **kwargs)

    def remove_table(self, name: str) -> bool:
        """Remove the scope's own version of ``name``."""
        return self.private.remove_table(name)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = (path / "manifest.json").stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


class ScopeData:
    """Knowledge bases of the served directory, one per scope, reopened when data change.

    Parameters
    ----------
    data_dir
        The served data directory.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._kbs: dict[str, tuple[tuple[Any, ...], KnowledgeBase]] = {}

    def private(self, scope: str) -> UserData:
        """The scope's own user data directory (imports go here)."""
        return UserData(scope_dir(self.data_dir, scope))

    def version(self, scope: str) -> tuple[Any, ...]:
        """``(effective scope, shared stamp, private stamp)``: changes with either's data.

        A scope without private data sees exactly the shared data, so its effective scope is
        ``""`` (one knowledge base and one set of cached results for all such scopes).
        """
        private = _stamp(scope_dir(self.data_dir, scope))
        return ("" if private == (0, 0) else scope, _stamp(self.data_dir), private)

    def open(self, scope: str) -> KnowledgeBase:
        """A new knowledge base of ``scope`` (for a job: not shared with requests)."""
        kb = KnowledgeBase(self.data_dir)
        kb.user = LayeredUserData(self.data_dir, scope_dir(self.data_dir, scope))
        return kb

    def kb(self, scope: str) -> tuple[KnowledgeBase, tuple[Any, ...]]:
        """The cached knowledge base of ``scope`` and its data stamp (see :meth:`version`)."""
        stamp = self.version(scope)
        key = stamp[0]
        with self._lock:
            hit = self._kbs.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1], stamp
            # a request still using the old one finishes on it; the garbage collector
            # closes it afterwards
            kb = self.open(scope) if key else self.open_shared()
            kb.resolve_materials(["gallium"])  # open the store and resolvers under the lock
            self._kbs[key] = (stamp, kb)
        return kb, stamp

    def open_shared(self) -> KnowledgeBase:
        """A knowledge base of the shared data only (scopes without private data)."""
        return KnowledgeBase(self.data_dir)
