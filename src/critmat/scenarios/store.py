"""Persisted ensemble runs: a DuckDB catalog over Parquet result folders, written atomically.

Layout (inside the user data directory, ``$CRITMAT_DATA_DIR`` or the platform default)::

    scenarios/
        catalog.duckdb         # table runs: one row per committed run (the commit point)
        runs/<run_id>/         # spec.json, meta.json, summary.parquet, monthly.parquet, ...
        .lock                  # serialises writers (readers take a shared lock)

Saving writes every file into ``runs/.tmp-<run_id>/`` and flushes it, renames the folder to
``runs/<run_id>/`` (atomic), then inserts the catalog row in one DuckDB transaction: the
commit is the only moment the run becomes visible. A process killed at any point leaves the
earlier runs untouched and the new one either complete or invisible; folders that no catalog
row names are removed by the next save.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.errors import UnknownNameError
from critmat.scenarios.result import EnsembleResult, _provenance
from critmat.scenarios.spec import parse_spec

__all__ = ["RunStore", "compare_runs"]

_FRAMES = ("summary", "monthly", "outcomes", "draws", "systems", "systems_outcomes", "baseline")

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

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        if not exclusive and not self.root.exists():
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        lock = (self.root / ".lock").open("a+")
        try:
            try:
                import fcntl

                fcntl.flock(lock.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            except ImportError:  # pragma: no cover - Windows: no advisory lock
                pass
            yield
        finally:
            lock.close()

    def _connect(self, *, read_only: bool) -> Any:
        import duckdb

        return duckdb.connect(str(self.catalog_path), read_only=read_only)

    # ------------------------------------------------------------------ write

    def save(self, result: EnsembleResult) -> str:
        """Store ``result`` (spec, seed, versions, frames) and return its run id.

        The run becomes visible atomically at the catalog commit; see the module notes.
        """
        stamp = datetime.now(UTC)
        run_id = f"{stamp:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self._locked(exclusive=True):
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.runs_dir / f".tmp-{run_id}"
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
            for p in tmp.iterdir():
                _fsync_file(p)
            _fsync_dir(tmp)
            final = self.runs_dir / run_id
            tmp.replace(final)
            _fsync_dir(self.runs_dir)
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
            con = self._connect(read_only=False)
            try:
                con.execute(_SCHEMA)
                con.execute("begin transaction")
                con.execute(f"insert into runs values ({', '.join('?' * len(row))})", row)
                _commit(con)
                self._cleanup(con)
            finally:
                con.close()
        result.run_id = run_id
        return run_id

    def _cleanup(self, con: Any) -> None:
        known = {r[0] for r in con.execute("select run_id from runs").fetchall()}
        for p in self.runs_dir.iterdir():
            if p.is_dir() and p.name not in known:
                shutil.rmtree(p, ignore_errors=True)

    # ------------------------------------------------------------------ read

    def _query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        if not self.catalog_path.exists():
            return pd.DataFrame()
        with self._locked(exclusive=False):
            con = self._connect(read_only=True)
            try:
                tables = {r[0] for r in con.execute("show tables").fetchall()}
                if "runs" not in tables:
                    return pd.DataFrame()
                out: pd.DataFrame = con.execute(sql, params or []).df()
                return out
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
        spec = parse_spec(json.loads((folder / "spec.json").read_text(encoding="utf-8")))
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        frames = {n: pd.read_parquet(folder / f"{n}.parquet") for n in _FRAMES}
        result = EnsembleResult(spec=spec, meta=meta, run_id=run_id, **frames)
        for name, frame in result.frames().items():
            _provenance(frame, spec, meta, name)
        return result


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
