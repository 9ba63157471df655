"""The user's data directory: imported tables that overlay the embedded knowledge base.

Layout::

    <data dir>/
        manifest.json          # the commit point: which file holds each table, import log
        tables/<table>-<id>.parquet
        .lock                  # serialises concurrent writers

Writes are all-or-nothing. A new table file is written under a fresh name, flushed to disk,
and only then the manifest is replaced atomically (``os.replace``). A process killed at any
moment leaves either the previous manifest (and the files it names) or the new one; files
left by a killed import are never referenced and are removed by the next successful write.

Nothing here runs at import time: the directory is created on the first write only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.data.catalog import TableSpec
from critmat.data.io import write_table_parquet

__all__ = ["COMBINE_MODES", "ENV_VAR", "UserData", "default_data_dir"]

#: Environment variable that overrides the user data directory.
ENV_VAR = "CRITMAT_DATA_DIR"

#: How a user table combines with the embedded one: ``upsert`` replaces embedded rows with the
#: same primary key and adds new ones; ``replace`` uses the user's rows only.
COMBINE_MODES = ("upsert", "replace")

_MANIFEST_FORMAT = 1


def default_data_dir() -> Path:
    """Return the user data directory: ``$CRITMAT_DATA_DIR`` or the platform default."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("critmat", appauthor=False))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform/filesystem
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    _replace_manifest(tmp, path)
    _fsync_dir(path.parent)


def _replace_manifest(tmp: Path, path: Path) -> None:
    """The commit point of every write (a seam for crash tests)."""
    tmp.replace(path)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ImportRecord:
    """Log entry of one import (also the provenance of the rows it brought)."""

    id: str
    table: str
    file: str
    sha256: str
    rows: int
    imported_at: str
    mode: str
    combine: str
    note: str = ""
    read_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dictionary."""
        return dict(self.__dict__)


class UserData:
    """Reader/writer of a user data directory.

    Parameters
    ----------
    root
        The directory (need not exist until the first write).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    @property
    def manifest_path(self) -> Path:
        """Path of ``manifest.json``."""
        return self.root / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        """Return the manifest (an empty one when the directory has none)."""
        if not self.manifest_path.is_file():
            return {"format": _MANIFEST_FORMAT, "tables": {}, "imports": []}
        with self.manifest_path.open(encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        data.setdefault("tables", {})
        data.setdefault("imports", [])
        return data

    def tables(self) -> dict[str, dict[str, Any]]:
        """Return ``{table: entry}`` for every user table (file, rows, combine, imports)."""
        return dict(self.manifest()["tables"])

    def table_path(self, name: str) -> Path | None:
        """Return the Parquet file of user table ``name`` or ``None``."""
        entry = self.tables().get(name)
        return None if entry is None else self.root / entry["file"]

    def imports(self) -> list[dict[str, Any]]:
        """Return the import log, oldest first."""
        return list(self.manifest()["imports"])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tables").mkdir(exist_ok=True)
        lock = (self.root / ".lock").open("a+")
        try:
            try:
                import fcntl

                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - Windows: no advisory lock
                pass
            yield
        finally:
            lock.close()

    def _cleanup(self, manifest: dict[str, Any]) -> None:
        referenced = {self.root / e["file"] for e in manifest["tables"].values()}
        for p in (self.root / "tables").glob("*"):
            if p not in referenced:
                with contextlib.suppress(OSError):
                    p.unlink()
        for p in self.root.glob(".manifest.json.*.tmp"):
            with contextlib.suppress(OSError):
                p.unlink()

    def commit_table(
        self,
        spec: TableSpec,
        frame: pd.DataFrame,
        *,
        combine: str,
        record: ImportRecord | None = None,
    ) -> Path:
        """Atomically make ``frame`` the user's version of table ``spec.name``.

        Parameters
        ----------
        spec
            Table spec (for column order and types).
        frame
            The complete new user table (already validated and merged).
        combine
            ``upsert`` or ``replace`` (see :data:`COMBINE_MODES`).
        record
            Import log entry to append.

        Returns
        -------
        pathlib.Path
            The new table file.
        """
        if combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
        with self._locked():
            manifest = self.manifest()
            rel = Path("tables") / f"{spec.name}-{uuid.uuid4().hex[:12]}.parquet"
            final = self.root / rel
            tmp = final.with_name(f".{final.name}.tmp")
            write_table_parquet(frame, spec, tmp)
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            tmp.replace(final)
            _fsync_dir(final.parent)
            manifest["format"] = _MANIFEST_FORMAT
            manifest["tables"][spec.name] = {
                "file": rel.as_posix(),
                "rows": len(frame),
                "combine": combine,
                "sha256": file_sha256(final),
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            if record is not None:
                manifest["imports"].append(record.to_dict())
            _write_json_atomic(self.manifest_path, manifest)
            self._cleanup(manifest)
            return final

    def remove_table(self, name: str) -> bool:
        """Drop the user's version of table ``name`` (the embedded one shows again).

        Returns
        -------
        bool
            ``True`` if there was a user table to drop.
        """
        if name not in self.tables():
            return False
        with self._locked():
            manifest = self.manifest()
            manifest["tables"].pop(name, None)
            manifest["imports"].append(
                {
                    "id": f"remove-{uuid.uuid4().hex[:8]}",
                    "table": name,
                    "mode": "remove",
                    "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            _write_json_atomic(self.manifest_path, manifest)
            self._cleanup(manifest)
        return True

    def read_table(self, name: str) -> pd.DataFrame | None:
        """Return the user's rows of table ``name`` or ``None``."""
        p = self.table_path(name)
        return None if p is None else pd.read_parquet(p)
