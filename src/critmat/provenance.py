"""Provenance of results: dataset version, sources, method and parameters.

Python users find it in ``frame.attrs["critmat"]``; files get it as a JSON sidecar
(``<file>.provenance.json``) because pandas ``attrs`` do not survive every operation and
CSV has nowhere to keep it. Provenance never records user names or host names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = ["ATTRS_KEY", "Provenance", "attach", "provenance_of"]

#: Key under which provenance is stored in ``DataFrame.attrs``.
ATTRS_KEY = "critmat"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@dataclass
class Provenance:
    """Where a result came from.

    Attributes
    ----------
    method
        Method or table name (e.g. ``"table:trade"``, ``"geopolrisk"``).
    method_version
        Version of the method implementation (critmat version unless stated).
    dataset_version
        Version of the knowledge base.
    dataset_hash
        Short content hash of the embedded data files.
    sources
        Source ids the rows come from (keys of the datapackage sources).
    parameters
        Parameters the result was computed with.
    units
        Unit of each numeric column.
    user_data
        Imports from the user data directory that contributed (import ids).
    notes
        Free-text remarks (e.g. which governance measure was used).
    created
        UTC timestamp.
    """

    method: str
    method_version: str
    dataset_version: str
    dataset_hash: str = ""
    sources: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    user_data: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out

    def to_json(self) -> str:
        """Return the provenance as pretty JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def attach(frame: pd.DataFrame, prov: Provenance) -> pd.DataFrame:
    """Store ``prov`` in ``frame.attrs`` and return the frame."""
    frame.attrs[ATTRS_KEY] = prov.to_dict()
    return frame


def provenance_of(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Return the provenance stored on ``frame``, if any."""
    value = frame.attrs.get(ATTRS_KEY)
    return value if isinstance(value, dict) else None
