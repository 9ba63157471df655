"""Import a user's file into the user data directory: validate all, then commit atomically.

The import either lands whole or not at all. Every problem in the file is reported at once
(file, row, column, value, what was expected, "did you mean" for unknown names). Rows keep
their provenance: a ``source_id`` column in the file is kept, empty cells and files without
one get the import's id, and the import log records file name, SHA-256, time and row count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from critmat.data.catalog import Catalog
from critmat.data.io import read_user_file, row_base_for
from critmat.data.userdata import COMBINE_MODES, ImportRecord, UserData, file_sha256
from critmat.data.validate import ValidationContext, validate_frame
from critmat.params import ParameterError

__all__ = ["MODES", "ImportResult", "import_file"]

#: ``merge``: upsert into the user's existing rows of the table (by primary key);
#: ``replace``: the file becomes the user's whole version of the table.
MODES = ("merge", "replace")


@dataclass(frozen=True)
class ImportResult:
    """Outcome of a successful import."""

    table: str
    import_id: str
    file: str
    rows_in_file: int
    user_rows: int
    replaced_rows: int
    combine: str
    data_dir: Path

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"imported {self.rows_in_file:,} rows into '{self.table}' from {self.file} "
            f"(import {self.import_id}; user table now {self.user_rows:,} rows, "
            f"{self.replaced_rows:,} earlier user rows replaced; combine={self.combine}) "
            f"in {self.data_dir}"
        )


def _merge(
    old: pd.DataFrame | None, new: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, int]:
    if old is None or old.empty or not keys:
        return new, 0
    old = old.astype({c: new[c].dtype for c in new.columns if c in old.columns}, errors="ignore")
    marker = new[keys].drop_duplicates().assign(_in_new=True)
    joined = old.merge(marker, on=keys, how="left")
    keep = joined["_in_new"].isna().to_numpy()
    replaced = int((~keep).sum())
    merged = pd.concat([old[keep], new], ignore_index=True)
    return merged, replaced


def import_file(
    path: str | Path,
    table: str,
    *,
    catalog: Catalog,
    context: ValidationContext,
    user: UserData,
    mode: str = "merge",
    combine: str = "upsert",
    sheet: str | int | None = None,
    note: str = "",
) -> ImportResult:
    """Validate ``path`` against table ``table`` and commit it to the user data directory.

    Parameters
    ----------
    path
        CSV/TSV, XLSX or Parquet file.
    table
        Target table (see ``critmat data list``).
    catalog, context, user
        Table specs, name resolvers and the user data directory.
    mode
        ``merge`` (default) or ``replace`` (see :data:`MODES`).
    combine
        How the user table overlays the embedded one: ``upsert`` (default) or ``replace``.
    sheet
        Worksheet for spreadsheets.
    note
        Free text stored in the import log.

    Returns
    -------
    ImportResult

    Raises
    ------
    critmat.errors.DataValidationError
        Listing every problem; nothing is written.
    critmat.errors.UnknownTableError
        If ``table`` is not a knowledge-base table.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    if combine not in COMBINE_MODES:
        raise ParameterError(f"combine must be one of {', '.join(COMBINE_MODES)}, got '{combine}'")
    spec = catalog.table(table)
    p = Path(path)
    frame, info = read_user_file(p, sheet=sheet)
    import_id = f"user:{table}:{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}:{uuid.uuid4().hex[:6]}"
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "source_id" in cols:
        src = frame[cols["source_id"]].astype("string").str.strip()
        frame[cols["source_id"]] = src.where(src.notna() & (src != ""), import_id)
    else:
        frame["source_id"] = import_id
    clean = validate_frame(frame, spec, context, file=p.name, row_base=row_base_for(p))
    previous = None if mode == "replace" else user.read_table(table)
    merged, replaced = _merge(previous, clean, list(spec.primary_key))
    record = ImportRecord(
        id=import_id,
        table=table,
        file=p.name,
        sha256=file_sha256(p),
        rows=len(clean),
        imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode=mode,
        combine=combine,
        note=note,
        read_as=", ".join(f"{k}={v}" for k, v in info.items()),
    )
    user.commit_table(spec, merged, combine=combine, record=record)
    return ImportResult(
        table=table,
        import_id=import_id,
        file=p.name,
        rows_in_file=len(clean),
        user_rows=len(merged),
        replaced_rows=replaced,
        combine=combine,
        data_dir=user.root,
    )
