"""Import a user's file into the user data directory: validate all, then commit atomically.

The import either lands whole or not at all. Every problem in the file is reported at once
(file, row, column, value, what was expected, "did you mean" for unknown names). Rows keep
their provenance: a ``source_id`` column in the file is kept, empty cells and files without
one get the import's id, and the import log records file name, SHA-256, time and row count.

The file is read and validated first (no lock held); then, under the data directory's write
lock, the user's current table is read, merged with the new rows, checked against the table's
invariants (:mod:`critmat.data.invariants`) and committed. Imports racing into the same table
therefore never lose each other's rows.
"""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from critmat.checks import CheckWarning
from critmat.data.catalog import Catalog
from critmat.data.invariants import CHECK_MODES, Violation, check_table
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
    violations: tuple[Violation, ...] = field(default=())

    def summary(self) -> str:
        """One line for humans."""
        text = (
            f"imported {self.rows_in_file:,} rows into '{self.table}' from {self.file} "
            f"(import {self.import_id}; user table now {self.user_rows:,} rows, "
            f"{self.replaced_rows:,} earlier user rows replaced; combine={self.combine}) "
            f"in {self.data_dir}"
        )
        if self.violations:
            n = sum(len(v.groups) for v in self.violations)
            text += f"; {n} invariant violation{'s' if n != 1 else ''} (see warnings)"
        return text

    def violation_lines(self) -> list[str]:
        """One line per invariant violation the import left (``checks="warn"``)."""
        return [line for v in self.violations for line in v.lines()]


@dataclass
class _Outcome:
    """What the merge under the lock found (filled by the callback)."""

    rows: int = 0
    replaced: int = 0
    violations: tuple[Violation, ...] = ()


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


def _supply_context(
    catalog: Catalog, embedded: Path | None, table: str
) -> tuple[pd.DataFrame, list[str]] | None:
    """EU import reliance and EU27 members for the supply-input checks of an import.

    Read from the embedded dataset (the EU 2023 study's IR; the current EU members).
    """
    from critmat.checks import eu_import_reliance
    from critmat.data.invariants import SUPPLY_CHECKED_TABLES

    if table not in SUPPLY_CHECKED_TABLES or embedded is None:
        return None
    params = catalog.table("eu_crm_2023_parameters")
    countries = catalog.table("countries")
    if not params.path or not countries.path:
        return None
    p, c = embedded / params.path, embedded / countries.path
    if not p.is_file() or not c.is_file():
        return None
    cols = ["material", "ir_extraction", "ir_processing"]
    ir = eu_import_reliance(pd.read_parquet(p, columns=cols))
    frame = pd.read_parquet(c, columns=["country", "eu27"])
    eu27 = sorted(frame.loc[frame["eu27"].fillna(False).astype(bool), "country"].astype(str))
    return ir, eu27


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
    checks: str = "warn",
    embedded: Path | None = None,
) -> ImportResult:
    """Validate ``path`` against table ``table`` and commit it to the user data directory.

    Parameters
    ----------
    path
        CSV/TSV, XLSX, Parquet or JSON (a list of records) file.
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
    checks
        Invariant checks after the merge (:data:`critmat.data.invariants.CHECK_MODES`):
        ``warn`` (default: the import lands, violations are in the result and issued as
        :class:`~critmat.checks.CheckWarning`), ``strict`` (a violation aborts the import) or
        ``off``.
    embedded
        Folder of the embedded dataset (to check invariants over the overlaid table); ``None``
        checks the user's rows alone.

    Returns
    -------
    ImportResult

    Raises
    ------
    critmat.errors.DataValidationError
        Listing every problem; nothing is written.
    critmat.errors.UnknownTableError
        If ``table`` is not a knowledge-base table.
    critmat.checks.CheckFailed
        With ``checks="strict"``, when an invariant does not hold; nothing is written.
    critmat.errors.StorageError, critmat.errors.CorruptStateError
        If the data directory cannot be written or is damaged; nothing is written.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    if combine not in COMBINE_MODES:
        raise ParameterError(f"combine must be one of {', '.join(COMBINE_MODES)}, got '{combine}'")
    if checks not in CHECK_MODES:
        raise ParameterError(f"checks must be one of {', '.join(CHECK_MODES)}, got '{checks}'")
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
    keys = list(spec.primary_key)
    outcome = _Outcome()

    def build(previous: pd.DataFrame | None) -> pd.DataFrame:
        # runs under the data directory's lock, with the user's table as committed now
        merged, outcome.replaced = _merge(previous, clean, keys)
        outcome.violations = tuple(
            check_table(
                spec,
                clean,
                merged,
                combine=combine,
                embedded_dir=embedded,
                mode=checks,
                supply_context=_supply_context(catalog, embedded, spec.name),
            )
        )
        outcome.rows = len(merged)
        return merged

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
    user.update_table(spec, build, combine=combine, record=record, read_previous=mode == "merge")
    violations = outcome.violations
    for v in violations:
        warnings.warn(str(v), CheckWarning, stacklevel=2)
    return ImportResult(
        table=table,
        import_id=import_id,
        file=p.name,
        rows_in_file=len(clean),
        user_rows=outcome.rows,
        replaced_rows=outcome.replaced,
        combine=combine,
        data_dir=user.root,
        violations=violations,
    )
