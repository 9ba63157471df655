"""The user's data directory: imported tables that overlay the embedded knowledge base.

Layout::

    <data dir>/
        manifest.json          # the commit point: which file holds each table, import log
        tables/<table>-<id>.parquet
        .lock                  # writers only (``filelock``); readers never touch it

Commit protocol (safe across processes; see ``docs/design.md``, "User data"):

* **Writers** (import, remove) take the directory's file lock for the whole
  read-modify-write: read the manifest, read the current user table, merge, run the checks,
  write the new table under a fresh name (temporary name, fsync, rename), replace the
  manifest atomically (``os.replace``: the commit point), clean up. N imports of the same
  table racing are serialised, so none loses another's rows.
* **Files are immutable.** A table file is never changed after its rename; a new version
  gets a new name. The file a commit supersedes is *retired*, not deleted: the manifest lists
  it with the time it was retired, and it is removed by a later write once it has been
  retired for :data:`RETAIN_SECONDS`. A reader that read the previous manifest can therefore
  still open every file it names.
* **Readers** take no lock (a read-only directory works): they read the manifest once and
  then the files it names, into memory (:meth:`UserData.snapshot`). Should a file have
  vanished meanwhile (a reader slower than the retention time), they read the manifest again
  and retry. A file named by the current manifest that is missing, damaged (checksum) or not
  Parquet is a :class:`~critmat.errors.CorruptStateError` naming the file and the remedy.
* **A process killed at any moment** leaves the previous manifest and the files it names, or
  the new ones; files left by a killed write are never referenced and the next write removes
  them. A write that fails (disk full, read-only) removes what it wrote and raises
  :class:`~critmat.errors.StorageError`; the manifest is unchanged.

Nothing here runs at import time: the directory is created on the first write only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from critmat.data.catalog import TableSpec
from critmat.data.io import write_table_parquet
from critmat.errors import CorruptStateError, CritmatError, LockTimeoutError, StorageError

__all__ = [
    "COMBINE_MODES",
    "ENV_VAR",
    "LOCK_TIMEOUT_SECONDS",
    "RETAIN_SECONDS",
    "ImportRecord",
    "Snapshot",
    "UserData",
    "default_data_dir",
    "file_sha256",
]

#: Environment variable that overrides the user data directory.
ENV_VAR = "CRITMAT_DATA_DIR"

#: How a user table combines with the embedded one: ``upsert`` replaces embedded rows with the
#: same primary key and adds new ones; ``replace`` uses the user's rows only.
COMBINE_MODES = ("upsert", "replace")

#: A superseded table file stays on disk this long for readers that still hold the previous
#: manifest (they need it for milliseconds; the margin covers suspended processes).
RETAIN_SECONDS = 300.0

#: A writer waits this long for another process's write to finish.
LOCK_TIMEOUT_SECONDS = 600.0

_MANIFEST_FORMAT = 1
_SNAPSHOT_ATTEMPTS = 50


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


def _unlink_quietly(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _replace_manifest(tmp: Path, path: Path) -> None:
    """The commit point of every write (a seam for crash tests)."""
    tmp.replace(path)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to a temporary file, fsync it and rename it over ``path``.

    On failure the temporary file is removed and ``path`` is untouched.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        _replace_manifest(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(path.parent)


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


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of a user data directory: one manifest and the tables it names.

    Attributes
    ----------
    manifest
        The validated manifest (``format``, ``tables``, ``imports``, ``retired``).
    tables
        ``{table: pyarrow.Table}``: the user's rows of each table, read from the files this
        manifest names (checksums verified).
    """

    manifest: dict[str, Any]
    tables: dict[str, Any]


# --------------------------------------------------------------------------- manifest checks


def _empty_manifest() -> dict[str, Any]:
    return {"format": _MANIFEST_FORMAT, "tables": {}, "imports": [], "retired": []}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _safe_table_file(value: object) -> bool:
    """A table file must be ``tables/<name>`` inside the data directory (no escape)."""
    if not isinstance(value, str) or "\\" in value:
        return False
    p = PurePosixPath(value)
    return (
        not p.is_absolute()
        and len(p.parts) == 2
        and p.parts[0] == "tables"
        and p.parts[1] not in ("", ".", "..")
    )


def _validate_manifest(data: Any, path: Path) -> dict[str, Any]:
    """Return the manifest with defaults filled, or raise naming what is wrong."""
    remedy = (
        f"restore {path} from a backup, or remove it to start again without your imported "
        f"tables (their files in {path.parent / 'tables'} are left alone)"
    )

    def bad(problem: str) -> CorruptStateError:
        return CorruptStateError(path, f"not a valid critmat manifest: {problem}", remedy)

    if not isinstance(data, dict):
        raise bad(f"the file holds a JSON {type(data).__name__}, expected an object")
    fmt = data.get("format", _MANIFEST_FORMAT)
    if not _is_int(fmt) or fmt < 1:
        raise bad(f"'format' is {fmt!r}, expected a positive whole number")
    if fmt > _MANIFEST_FORMAT:
        raise CorruptStateError(
            path,
            f"written by a newer critmat (manifest format {fmt}; this version reads "
            f"format {_MANIFEST_FORMAT})",
            "upgrade critmat to read this data directory, or use another --data-dir",
        )
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise bad(f"'tables' is a {type(tables).__name__}, expected an object")
    for name, entry in tables.items():
        where = f"tables.{name}"
        if not isinstance(entry, dict):
            raise bad(f"'{where}' is a {type(entry).__name__}, expected an object")
        if not _safe_table_file(entry.get("file")):
            raise bad(f"'{where}.file' is {entry.get('file')!r}, expected 'tables/<file name>'")
        if not _is_int(entry.get("rows")) or entry["rows"] < 0:
            raise bad(f"'{where}.rows' is {entry.get('rows')!r}, expected a count")
        if entry.get("combine") not in COMBINE_MODES:
            raise bad(
                f"'{where}.combine' is {entry.get('combine')!r}, expected one of "
                + ", ".join(COMBINE_MODES)
            )
        if not isinstance(entry.get("sha256", ""), str):
            raise bad(f"'{where}.sha256' is {entry.get('sha256')!r}, expected text")
    imports = data.get("imports", [])
    if not isinstance(imports, list):
        raise bad(f"'imports' is a {type(imports).__name__}, expected a list")
    for i, rec in enumerate(imports):
        if not isinstance(rec, dict):
            raise bad(f"'imports[{i}]' is a {type(rec).__name__}, expected an object")
        keys = ["id", "table", "mode", "imported_at"]
        if rec.get("mode") != "remove":
            keys += ["file", "sha256"]
        for key in keys:
            if not isinstance(rec.get(key), str):
                raise bad(f"'imports[{i}].{key}' is {rec.get(key)!r}, expected text")
        if rec.get("mode") != "remove" and not _is_int(rec.get("rows")):
            raise bad(f"'imports[{i}].rows' is {rec.get('rows')!r}, expected a count")
    retired = data.get("retired", [])
    if not isinstance(retired, list) or not all(
        isinstance(r, dict)
        and _safe_table_file(r.get("file"))
        and isinstance(r.get("retired_at"), int | float)
        for r in retired
    ):
        raise bad("'retired' must be a list of {file, retired_at}")
    out = dict(data)
    out["format"] = fmt
    out["tables"] = dict(tables)
    out["imports"] = list(imports)
    out["retired"] = list(retired)
    return out


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

    # ------------------------------------------------------------------ read

    def manifest(self) -> dict[str, Any]:
        """Return the validated manifest (an empty one when the directory has none).

        Raises
        ------
        critmat.errors.CorruptStateError
            If ``manifest.json`` is not valid JSON or not a critmat manifest.
        """
        path = self.manifest_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return _empty_manifest()
        except OSError as exc:
            if not path.exists() and not path.is_symlink():
                return _empty_manifest()
            raise CorruptStateError(
                path,
                f"cannot be read ({exc.strerror or exc})",
                f"make {path} a readable file, restore it, or remove it",
            ) from None
        remedy = (
            f"restore {path} from a backup, or remove it to start again without your "
            f"imported tables (their files in {self.root / 'tables'} are left alone)"
        )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptStateError(
                path, "not UTF-8 text (damaged, or not a critmat manifest)", remedy
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorruptStateError(
                path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", remedy
            ) from None
        return _validate_manifest(data, path)

    def tables(self) -> dict[str, dict[str, Any]]:
        """Return ``{table: entry}`` for every user table (file, rows, combine, sha256)."""
        return dict(self.manifest()["tables"])

    def table_path(self, name: str) -> Path | None:
        """Return the Parquet file of user table ``name`` or ``None``."""
        entry = self.tables().get(name)
        return None if entry is None else self.root / entry["file"]

    def imports(self) -> list[dict[str, Any]]:
        """Return the import log, oldest first."""
        return list(self.manifest()["imports"])

    def _read_table_file(self, name: str, entry: dict[str, Any]) -> Any:
        """Read one table file named by a manifest (``FileNotFoundError`` passes through)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.root / entry["file"]
        remedy = (
            f"run `critmat data remove {name}` to drop your rows of '{name}' (the embedded "
            f"table shows again) and import them again, or restore {path} from a backup"
        )
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise CorruptStateError(
                path, f"user table '{name}' cannot be read ({exc.strerror or exc})", remedy
            ) from None
        expected = entry.get("sha256")
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise CorruptStateError(
                path,
                f"the file of user table '{name}' does not match its checksum in "
                "manifest.json (damaged, truncated or changed outside critmat)",
                remedy,
            )
        try:
            return pq.read_table(pa.BufferReader(data))
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for damaged files
            raise CorruptStateError(
                path,
                f"user table '{name}' is not a readable Parquet file ({type(exc).__name__}: {exc})",
                remedy,
            ) from None

    def snapshot(self, names: Iterable[str] | None = None) -> Snapshot:
        """Read the manifest once and every table it names (or only ``names``).

        A file that vanished between reading the manifest and reading the file (a write
        committed meanwhile and its retention ran out) makes the snapshot start again from
        the new manifest, so the result is always one committed state.

        Raises
        ------
        critmat.errors.CorruptStateError
            If the manifest or a file it names is missing, damaged or not critmat's.
        """
        wanted = None if names is None else set(names)
        for _ in range(_SNAPSHOT_ATTEMPTS):
            manifest = self.manifest()
            tables: dict[str, Any] = {}
            try:
                for name, entry in manifest["tables"].items():
                    if wanted is None or name in wanted:
                        tables[name] = self._read_table_file(name, entry)
            except FileNotFoundError as exc:
                if self.manifest() != manifest:
                    continue  # a newer commit: read that one
                missing = Path(exc.filename) if exc.filename else self.root
                table = next(
                    (n for n, e in manifest["tables"].items() if self.root / e["file"] == missing),
                    "?",
                )
                raise CorruptStateError(
                    missing,
                    f"the file of user table '{table}' named by manifest.json is missing",
                    f"restore it from a backup, or run `critmat data remove {table}` to drop "
                    f"your rows of '{table}'",
                ) from None
            return Snapshot(manifest=manifest, tables=tables)
        raise CritmatError(
            f"{self.root}: the data directory changed {_SNAPSHOT_ATTEMPTS} times while it was "
            "being read (other processes are importing); try again",
            code="data_dir_busy",
        )

    def read_table(self, name: str) -> pd.DataFrame | None:
        """Return the user's rows of table ``name`` or ``None``."""
        table = self.snapshot([name]).tables.get(name)
        return None if table is None else table.to_pandas()

    # ------------------------------------------------------------------ write

    def _what(self) -> str:
        return f"the data directory {self.root}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the directory's write lock (created with the directory on the first write)."""
        from filelock import FileLock, Timeout

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "tables").mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root, what=self._what()) from None
        lock = FileLock(self.root / ".lock", timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise LockTimeoutError(
                self.root / ".lock",
                f"another process has been writing to {self.root} for over "
                f"{LOCK_TIMEOUT_SECONDS:.0f} s",
                "wait for the other import to finish and try again",
            ) from None
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root / ".lock", what=self._what()) from None
        try:
            yield
        finally:
            lock.release()

    def _cleanup(self, manifest: dict[str, Any]) -> None:
        """Remove table files no manifest entry names (call with the lock held)."""
        referenced = {self.root / e["file"] for e in manifest["tables"].values()}
        referenced |= {self.root / r["file"] for r in manifest.get("retired", [])}
        with contextlib.suppress(OSError):
            for p in (self.root / "tables").iterdir():
                if p not in referenced:
                    _unlink_quietly(p)
        with contextlib.suppress(OSError):
            for p in self.root.glob(".manifest.json.*.tmp"):
                _unlink_quietly(p)

    @staticmethod
    def _retire(manifest: dict[str, Any], old: dict[str, Any] | None, now: float) -> None:
        """Move ``old``'s file to the retired list; forget retirements past retention."""
        retired = [r for r in manifest.get("retired", []) if now - r["retired_at"] < RETAIN_SECONDS]
        if old is not None:
            retired.append({"file": old["file"], "retired_at": now})
        manifest["retired"] = retired

    def _commit(self, manifest: dict[str, Any], written: Path | None) -> None:
        """Replace the manifest (the commit point); on failure remove ``written``."""
        try:
            _write_json_atomic(self.manifest_path, manifest)
        except OSError as exc:
            if written is not None:
                _unlink_quietly(written)
            raise StorageError.from_os_error(exc, self.manifest_path, what=self._what()) from None
        except BaseException:
            if written is not None:
                _unlink_quietly(written)
            raise
        self._cleanup(manifest)

    def update_table(
        self,
        spec: TableSpec,
        build: Callable[[pd.DataFrame | None], pd.DataFrame],
        *,
        combine: str,
        record: ImportRecord | None = None,
        read_previous: bool = True,
    ) -> Path:
        """Atomically replace the user's version of ``spec.name`` by ``build(previous)``.

        The whole read-modify-write runs under the directory's lock: ``previous`` is the
        user's current table (``None`` if there is none or ``read_previous`` is false), read
        after the lock was taken, so concurrent updates of the same table never lose rows.
        ``build`` may raise to abort; nothing is written then.

        Parameters
        ----------
        spec
            Table spec (for column order and types).
        build
            Returns the complete new user table (validated and merged).
        combine
            ``upsert`` or ``replace`` (see :data:`COMBINE_MODES`).
        record
            Import log entry to append.
        read_previous
            Read the current user table and pass it to ``build``.

        Returns
        -------
        pathlib.Path
            The new table file.

        Raises
        ------
        critmat.errors.StorageError
            If the directory cannot be written (disk full, read-only, permissions); what
            was written is removed and the previous state stays.
        critmat.errors.CorruptStateError
            If the manifest or the current table is damaged (nothing is written).
        """
        if combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
        with self._locked():
            manifest = self.manifest()
            old = manifest["tables"].get(spec.name)
            previous = None
            if read_previous and old is not None:
                previous = self._read_table_file(spec.name, old).to_pandas()
            frame = build(previous)
            rel = Path("tables") / f"{spec.name}-{uuid.uuid4().hex[:12]}.parquet"
            final = self.root / rel
            tmp = final.with_name(f".{final.name}.tmp")
            try:
                write_table_parquet(frame, spec, tmp)
                with tmp.open("rb") as fh:
                    os.fsync(fh.fileno())
                tmp.replace(final)
                _fsync_dir(final.parent)
                digest = file_sha256(final)
            except OSError as exc:
                _unlink_quietly(tmp, final)
                raise StorageError.from_os_error(exc, final, what=self._what()) from None
            except BaseException:
                _unlink_quietly(tmp, final)
                raise
            now = time.time()
            manifest["format"] = _MANIFEST_FORMAT
            manifest["tables"][spec.name] = {
                "file": rel.as_posix(),
                "rows": len(frame),
                "combine": combine,
                "sha256": digest,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._retire(manifest, old, now)
            if record is not None:
                manifest["imports"].append(record.to_dict())
            self._commit(manifest, final)
            return final

    def commit_table(
        self,
        spec: TableSpec,
        frame: pd.DataFrame,
        *,
        combine: str,
        record: ImportRecord | None = None,
    ) -> Path:
        """Atomically make ``frame`` the user's whole version of table ``spec.name``.

        See :meth:`update_table` (this is the case that does not depend on the previous
        rows).
        """
        return self.update_table(
            spec, lambda _previous: frame, combine=combine, record=record, read_previous=False
        )

    def remove_table(self, name: str) -> bool:
        """Drop the user's version of table ``name`` (the embedded one shows again).

        Returns
        -------
        bool
            ``True`` if there was a user table to drop.
        """
        if name not in self.tables():  # nothing to do: no lock (works read-only)
            return False
        with self._locked():
            manifest = self.manifest()
            old = manifest["tables"].pop(name, None)
            if old is None:
                return False
            self._retire(manifest, old, time.time())
            manifest["imports"].append(
                {
                    "id": f"remove-{uuid.uuid4().hex[:8]}",
                    "table": name,
                    "mode": "remove",
                    "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            self._commit(manifest, None)
        return True
