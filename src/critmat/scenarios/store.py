"""Persisted ensemble runs: a DuckDB catalog over Parquet result folders, written atomically.

Layout (inside the user data directory, ``$CRITMAT_DATA_DIR`` or the platform default)::

    scenarios/
        catalog.duckdb         # table runs: one row per committed run (the commit point)
        runs/<run_id>/         # spec.json, meta.json, catalog_row.json, summary.parquet, ...
        .lock                  # serialises writers (``filelock``); readers never touch it

Saving (under the store's file lock) writes every file into ``runs/.tmp-<run_id>/`` and
flushes it, renames the folder to ``runs/<run_id>/`` (atomic), then inserts the catalog row in
one DuckDB transaction: the commit is the only moment the run becomes visible. A process
killed at any point leaves the earlier runs untouched and the new one either complete or
invisible; folders that no catalog row names are removed by the next save. A save that fails
(disk full, read-only folder) removes what it wrote and raises
:class:`~critmat.errors.StorageError`.

Readers take no lock (a read-only store can be listed and loaded): they open the catalog
read-only, retrying while a writer holds DuckDB's own lock on it for the moment of its
commit. A damaged catalog or run folder is a :class:`~critmat.errors.CorruptStateError` that
names the file and what to do. A removed catalog is rebuilt by the next save from the
``catalog_row.json`` each run folder keeps, so removing a damaged catalog loses no run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.errors import (
    CorruptStateError,
    CritmatError,
    LockTimeoutError,
    StorageError,
    UnknownNameError,
)
from critmat.scenarios.result import EnsembleResult, _provenance
from critmat.scenarios.spec import parse_spec

__all__ = ["RunStore", "compare_runs"]

_FRAMES = ("summary", "monthly", "outcomes", "draws", "systems", "systems_outcomes", "baseline")

#: A writer waits this long for another save to finish.
LOCK_TIMEOUT_SECONDS = 600.0

#: How long a reader (or writer) retries while another process holds DuckDB's catalog lock.
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
create table if not exists runs (
    run_id varchar primary key,
    name varchar,
    created_at timestamp,
    samples bigint,
    seed ubigint,
    horizon_months integer,
    materials integer,
    engine varchar,
    wall_s double,
    critmat_version varchar,
    dataset_version varchar,
    dataset_hash varchar,
    worst_material varchar,
    worst_p_shortfall double,
    worst_shortfall_mean double,
    path varchar,
    spec_json varchar,
    meta_json varchar
)
"""

_LIST_COLUMNS = [
    "run_id",
    "created_at",
    "name",
    "samples",
    "seed",
    "horizon_months",
    "materials",
    "engine",
    "wall_s",
    "worst_material",
    "worst_p_shortfall",
    "worst_shortfall_mean",
]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _commit(con: Any) -> None:
    """The commit point of a save (a seam for crash tests)."""
    con.execute("commit")


class RunStore:
    """Store of ensemble runs.

    Parameters
    ----------
    root
        Folder of the store (default ``<user data dir>/scenarios``). Nothing is created
        until the first save.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            from critmat.data.userdata import default_data_dir

            root = default_data_dir() / "scenarios"
        self.root = Path(root).expanduser()

    @property
    def catalog_path(self) -> Path:
        """The DuckDB catalog."""
        return self.root / "catalog.duckdb"

    @property
    def runs_dir(self) -> Path:
        """Folder of the run folders."""
        return self.root / "runs"

    def _what(self) -> str:
        return f"the scenario run store {self.root}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's write lock (writers only; created on the first save)."""
        from filelock import FileLock, Timeout

        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root, what=self._what()) from None
        lock = FileLock(self.root / ".lock", timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise LockTimeoutError(
                self.root / ".lock",
                f"another process has been saving a run for over {LOCK_TIMEOUT_SECONDS:.0f} s",
                "wait for it to finish and try again",
            ) from None
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root / ".lock", what=self._what()) from None
        try:
            yield
        finally:
            lock.release()

    def _corrupt_catalog(self, exc: Exception) -> CorruptStateError:
        return CorruptStateError(
            self.catalog_path,
            f"the run catalog is damaged or not a DuckDB database ({str(exc).splitlines()[0]})",
            f"restore {self.catalog_path} from a backup, or remove it: the next saved run "
            f"rebuilds the catalog from the run folders in {self.runs_dir} (until then "
            "`critmat scenario list` shows no runs)",
        )

    def _connect(self, *, read_only: bool) -> Any:
        """Open the catalog, retrying while another process holds DuckDB's lock on it."""
        import duckdb

        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.catalog_path), read_only=read_only)
            except duckdb.Error as exc:
                text = str(exc)
                # busy: another process holds DuckDB's file lock, or this process has the
                # catalog open with the other access mode
                if not any(b in text for b in ("Could not set lock", "different configuration")):
                    if _is_os_write_error(text):
                        raise StorageError(
                            self.catalog_path,
                            text.splitlines()[0],
                            f"check the disk of {self._what()} and try again",
                        ) from None
                    raise self._corrupt_catalog(exc) from None
                if time.monotonic() > deadline:
                    raise CritmatError(
                        f"{self.catalog_path}: another critmat process has kept the run "
                        f"catalog open for over {BUSY_TIMEOUT_SECONDS:.0f} s; try again",
                        code="run_store_busy",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    # ------------------------------------------------------------------ write

    def save(self, result: EnsembleResult) -> str:
        """Store ``result`` (spec, seed, versions, frames) and return its run id.

        The run becomes visible atomically at the catalog commit; see the module notes.

        Raises
        ------
        critmat.errors.StorageError
            If the store cannot be written (disk full, read-only); nothing is left behind.
        critmat.errors.CorruptStateError
            If the catalog is damaged (the run is not saved).
        """
        stamp = datetime.now(UTC)
        run_id = f"{stamp:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self._locked():
            tmp = self.runs_dir / f".tmp-{run_id}"
            final = self.runs_dir / run_id
            try:
                row = self._write_run(result, run_id, stamp, tmp)
                tmp.replace(final)
                _fsync_dir(self.runs_dir)
                self._insert(row)
            except OSError as exc:
                _remove_tree(tmp, final)
                raise StorageError.from_os_error(exc, final, what=self._what()) from None
            except BaseException:
                _remove_tree(tmp, final)
                raise
        result.run_id = run_id
        return run_id

    def _write_run(
        self, result: EnsembleResult, run_id: str, stamp: datetime, tmp: Path
    ) -> list[Any]:
        """Write the run's files into ``tmp`` (fsynced) and return its catalog row."""
        tmp.mkdir()
        spec_json = result.spec.model_dump_json()
        meta = {
            **result.meta,
            "run_id": run_id,
            "created_at": stamp.isoformat(timespec="seconds"),
        }
        meta_json = json.dumps(meta, default=str, sort_keys=True)
        (tmp / "spec.json").write_text(spec_json, encoding="utf-8")
        (tmp / "meta.json").write_text(meta_json, encoding="utf-8")
        for name in _FRAMES:
            frame = result.frame(name).copy()
            frame.attrs = {}
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        s = result.summary.sort_values("shortfall_mean", ascending=False)
        worst = s.iloc[0] if len(s) else None
        row = [
            run_id,
            result.name,
            stamp.replace(tzinfo=None),
            result.samples,
            result.spec.seed,
            result.spec.scenario.horizon_months,
            len(result.summary),
            str(result.meta.get("engine", "")),
            float(result.meta.get("wall_s", 0.0)),
            str(result.meta.get("critmat_version", "")),
            str(result.meta.get("dataset_version", "")),
            str(result.meta.get("dataset_hash", "")),
            None if worst is None else str(worst["material"]),
            None if worst is None else float(worst["p_shortfall"]),
            None if worst is None else float(worst["shortfall_mean"]),
            f"runs/{run_id}",
            spec_json,
            meta_json,
        ]
        (tmp / "catalog_row.json").write_text(
            json.dumps(row, default=lambda v: v.isoformat()), encoding="utf-8"
        )
        for p in tmp.iterdir():
            _fsync_file(p)
        _fsync_dir(tmp)
        return row

    def _insert(self, row: list[Any]) -> None:
        """Insert the catalog row in one transaction (the commit point), then clean up."""
        import duckdb

        rebuild = not self.catalog_path.exists()
        con = self._connect(read_only=False)
        try:
            con.execute(_SCHEMA)
            con.execute("begin transaction")
            if rebuild:
                self._rebuild(con, skip=str(row[0]))
            con.execute(f"insert into runs values ({', '.join('?' * len(row))})", row)
            _commit(con)
            with contextlib.suppress(duckdb.Error):  # committed: a failed cleanup is harmless
                self._cleanup(con)
        except duckdb.Error as exc:
            if _is_os_write_error(str(exc)):
                raise StorageError(
                    self.catalog_path,
                    str(exc).splitlines()[0],
                    f"free some space on the disk of {self._what()} and save again",
                ) from None
            raise self._corrupt_catalog(exc) from None
        finally:
            con.close()

    def _rebuild(self, con: Any, *, skip: str) -> None:
        """Re-insert the rows of complete run folders into a new, empty catalog."""
        n = len(_SCHEMA_COLUMNS)
        for folder in sorted(self.runs_dir.iterdir()):
            row_file = folder / "catalog_row.json"
            if folder.name == skip or folder.name.startswith(".") or not row_file.is_file():
                continue
            try:
                row = json.loads(row_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(row, list) or len(row) != n or row[0] != folder.name:
                continue
            if not all((folder / f"{f}.parquet").is_file() for f in _FRAMES):
                continue
            con.execute(f"insert into runs values ({', '.join('?' * n)})", row)

    def _cleanup(self, con: Any) -> None:
        known = {r[0] for r in con.execute("select run_id from runs").fetchall()}
        with contextlib.suppress(OSError):
            for p in self.runs_dir.iterdir():
                if p.is_dir() and p.name not in known:
                    shutil.rmtree(p, ignore_errors=True)

    # ------------------------------------------------------------------ read

    def _query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        import duckdb

        if not self.catalog_path.exists():
            return pd.DataFrame()
        con = self._connect(read_only=True)
        try:
            tables = {r[0] for r in con.execute("show tables").fetchall()}
            if "runs" not in tables:
                return pd.DataFrame()
            out: pd.DataFrame = con.execute(sql, params or []).df()
            return out
        except duckdb.Error as exc:
            raise self._corrupt_catalog(exc) from None
        finally:
            con.close()

    def list(self) -> pd.DataFrame:
        """Committed runs, newest first."""
        cols = ", ".join(_LIST_COLUMNS)
        frame = self._query(f"select {cols} from runs order by created_at desc, run_id desc")
        if frame.empty:
            return pd.DataFrame(columns=_LIST_COLUMNS)
        return frame

    def resolve(self, ref: str) -> str:
        """Run id of ``ref``.

        ``ref`` is a run id, a unique prefix of one, ``latest``, or a run name (its latest
        run).

        Raises
        ------
        critmat.errors.UnknownNameError
            With the closest run ids and names.
        critmat.params.ParameterError
            For a prefix that matches several runs.
        """
        runs = self.list()
        ids = [str(x) for x in runs["run_id"]]
        if ref in ("latest", "last") and ids:
            return ids[0]
        if ref in ids:
            return ref
        hits = [i for i in ids if i.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        named = runs[runs["name"] == ref]
        if len(named):
            return str(named["run_id"].iloc[0])
        if len(hits) > 1:
            from critmat.params import ParameterError

            raise ParameterError(
                f"run id prefix '{ref}' is ambiguous: it matches "
                f"{', '.join(hits[:5])}; give more characters"
            )
        from critmat.errors import closest

        sugg = closest(ref, ids + [str(n) for n in runs["name"].unique()])
        raise UnknownNameError("run", ref, suggestions=sugg)

    def load(self, ref: str) -> EnsembleResult:
        """Load a stored run (``ref`` as in :meth:`resolve`)."""
        run_id = self.resolve(ref)
        folder = self.runs_dir / run_id
        spec = _read_part(folder, "spec.json", run_id, lambda p: parse_spec(_json_object(p)))
        meta = _read_part(folder, "meta.json", run_id, _json_object)
        frames = {n: _read_part(folder, f"{n}.parquet", run_id, pd.read_parquet) for n in _FRAMES}
        result = EnsembleResult(spec=spec, meta=meta, run_id=run_id, **frames)
        for name, frame in result.frames().items():
            _provenance(frame, spec, meta, name)
        return result


_SCHEMA_COLUMNS = [
    line.strip().split()[0] for line in _SCHEMA.strip().splitlines()[1:-1] if line.strip()
]


def _is_os_write_error(text: str) -> bool:
    return any(w in text for w in ("No space left", "Read-only file system", "Permission denied"))


def _remove_tree(*paths: Path) -> None:
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)


def _json_object(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, expected an object")
    return data


def _read_part(folder: Path, name: str, run_id: str, reader: Callable[[Path], Any]) -> Any:
    """Read one file of a stored run; a missing or damaged file names itself and the remedy."""
    path = folder / name
    remedy = (
        f"restore {path} from a backup; without it run {run_id} cannot be loaded (run the "
        "scenario again to recreate its results)"
    )
    if not path.is_file():
        what = f"its folder {folder}" if not folder.is_dir() else name
        raise CorruptStateError(path, f"run {run_id} is incomplete: {what} is missing", remedy)
    try:
        return reader(path)
    except Exception as exc:  # JSON, pyarrow and pydantic errors of a damaged file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptStateError(
            path, f"{name} of run {run_id} is damaged ({type(exc).__name__}: {first})", remedy
        ) from None


def compare_runs(a: EnsembleResult, b: EnsembleResult) -> pd.DataFrame:
    """Per-material comparison of two runs (``_a``, ``_b`` and ``delta = b - a``).

    Returns
    -------
    pandas.DataFrame
        ``material, p_shortfall_a/_b, shortfall_mean_a/_b/_delta, cvar_a/_b,
        months_to_stockout_p50_a/_b, peak_price_p50_a/_b`` over the union of materials.
    """

    def pick(r: EnsembleResult) -> pd.DataFrame:
        s = r.summary
        cv = next((c for c in s.columns if c.startswith("shortfall_cvar")), None)
        out = s[
            [
                "material",
                "p_shortfall",
                "shortfall_mean",
                "months_to_stockout_p50",
                "peak_price_p50",
            ]
        ].copy()
        out["cvar"] = s[cv] if cv else float("nan")
        return out

    m = pick(a).merge(pick(b), on="material", how="outer", suffixes=("_a", "_b"))
    m["shortfall_mean_delta"] = m["shortfall_mean_b"] - m["shortfall_mean_a"]
    m["p_shortfall_delta"] = m["p_shortfall_b"] - m["p_shortfall_a"]
    cols = [
        "material",
        "p_shortfall_a",
        "p_shortfall_b",
        "p_shortfall_delta",
        "shortfall_mean_a",
        "shortfall_mean_b",
        "shortfall_mean_delta",
        "cvar_a",
        "cvar_b",
        "months_to_stockout_p50_a",
        "months_to_stockout_p50_b",
        "peak_price_p50_a",
        "peak_price_p50_b",
    ]
    out = m[cols].sort_values("shortfall_mean_delta", key=lambda s: -s.abs(), ignore_index=True)
    out.attrs["runs"] = {"a": a.run_id, "b": b.run_id}
    return out
