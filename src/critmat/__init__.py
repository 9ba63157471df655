"""critmat: critical raw materials supply security for European defence.

Start with :func:`critmat.load`, which returns a :class:`~critmat.knowledge_base.KnowledgeBase`
over the embedded, cited dataset (plus the user's own imported tables)::

    import critmat
    kb = critmat.load()
    kb.trade(materials=["graphite"], importers=["EU27"], years="2020-2022")

Importing critmat has no side effects: it creates no folder, configures no logging, opens
no database and prints nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from critmat._version import __version__

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["KnowledgeBase", "__version__", "load"]


def load(data_dir: Any = None, *, user_data: bool = True) -> KnowledgeBase:
    """Open the knowledge base: the embedded dataset overlaid with the user's tables.

    Parameters
    ----------
    data_dir
        User data directory whose imported tables overlay the embedded ones. Default:
        ``$CRITMAT_DATA_DIR`` or the platform's user data folder (used only if it exists).
    user_data
        Set to ``False`` to use the embedded dataset alone.

    Returns
    -------
    KnowledgeBase
        Lazily opened (the DuckDB connection is created on the first query).
    """
    from critmat.knowledge_base import KnowledgeBase

    return KnowledgeBase(data_dir, user_data=user_data)


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBase":
        from critmat.knowledge_base import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(f"module 'critmat' has no attribute {name!r}")
