"""Table invariants that user imports are checked against, like the dataset build.

Row-level rules (types, ranges, non-negative quantities, known units, primary keys) are part
of every table's schema and reject an import outright. The invariants here span rows: the
shares of a group must sum to one (or at most one), as in ``scripts/build_dataset.py``. They
are checked on the table as the knowledge base will see it after the import (the user's rows
overlaid on the embedded ones), for the groups the imported rows touch, so a violation that
the embedded data already have (and the build report documents) is not blamed on an import.

``checks`` modes (:data:`CHECK_MODES`): ``strict`` raises :class:`~critmat.checks.CheckFailed`
and nothing is written; ``warn`` (default) lets the import land and reports the violations;
``off`` skips the checks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from critmat.checks import CheckFailed, CheckWarning, check_shares_sum, flag_supply_shares
from critmat.data.catalog import TableSpec

__all__ = [
    "CHECK_MODES",
    "INVARIANTS",
    "SUPPLY_CHECKED_TABLES",
    "Invariant",
    "Violation",
    "check_table",
]

#: How import checks react to a violation.
CHECK_MODES = ("strict", "warn", "off")


@dataclass(frozen=True)
class Invariant:
    """Shares of each group of a table sum to one (``equal``) or to at most one (``at_most``).

    Attributes
    ----------
    name
        Short description, used in messages.
    by
        Grouping columns.
    where
        Column values a row must have to be checked (e.g. ``{"mix": "global"}``).
    share
        Share column (fractions).
    tolerance
        Allowed absolute deviation, as in the dataset build.
    mode
        ``equal`` or ``at_most``.
    """

    name: str
    by: tuple[str, ...]
    where: dict[str, str] = field(default_factory=dict)
    share: str = "share"
    tolerance: float = 0.05
    mode: str = "equal"


#: Invariants per table (the same tolerances as the dataset build).
INVARIANTS: dict[str, tuple[Invariant, ...]] = {
    "eu_crm_2023": (
        Invariant(
            "global supply shares of each material and stage sum to 1",
            by=("material", "stage"),
            where={"mix": "global"},
        ),
        Invariant(
            "EU sourcing shares of each material and stage sum to at most 1",
            by=("material", "stage"),
            where={"mix": "eu_sourcing"},
            mode="at_most",
        ),
    ),
    # supply shares of several vintages (a table on its way from the data helpers; harmless
    # while absent): the same rules per vintage
    "supply_shares": (
        Invariant(
            "global supply shares of each vintage, material and stage sum to 1",
            by=("vintage", "material", "stage"),
            where={"mix": "global"},
        ),
        Invariant(
            "EU sourcing shares of each vintage, material and stage sum to at most 1",
            by=("vintage", "material", "stage"),
            where={"mix": "eu_sourcing"},
            mode="at_most",
        ),
    ),
    "eu_crm_2023_end_use": (
        Invariant("end-use shares of each material sum to 1", by=("material",)),
    ),
    "usgs_mcs2026_import_sources": (
        Invariant(
            "US import source shares of each material and category sum to 1",
            by=("material", "import_category"),
            tolerance=0.02,
        ),
    ),
}


@dataclass(frozen=True)
class Violation:
    """One invariant that does not hold after an import.

    Attributes
    ----------
    table
        Table name.
    invariant
        The invariant.
    groups
        The violating groups with their ``total``.
    """

    table: str
    invariant: Invariant
    groups: pd.DataFrame

    def lines(self) -> list[str]:
        """One line per violating group, for people."""
        if self.invariant.mode == "supply_checks":
            return [
                f"{self.table}: "
                + ", ".join(f"{c}={rec[c]}" for c in self.invariant.by if c in rec)
                + f": {rec['flag']}: {rec['detail']} ({self.invariant.name})"
                for rec in self.groups.to_dict(orient="records")
            ]
        out = []
        for rec in self.groups.to_dict(orient="records"):
            key = ", ".join(f"{c}={rec[c]}" for c in self.invariant.by)
            bound = "1" if self.invariant.mode == "equal" else "at most 1"
            out.append(
                f"{self.table}: {key}: shares sum to {rec['total']:.3f}, expected {bound} "
                f"(+- {self.invariant.tolerance:g}; {self.invariant.name})"
            )
        return out

    def __str__(self) -> str:
        return "; ".join(self.lines())


def _select(frame: pd.DataFrame, inv: Invariant) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for col, value in inv.where.items():
        mask &= frame[col].astype("string") == value
    return frame[mask.fillna(False).to_numpy(dtype=bool)]


def _overlay(
    spec: TableSpec,
    user: pd.DataFrame,
    embedded: pd.DataFrame | None,
    combine: str,
    columns: list[str],
) -> pd.DataFrame:
    """The table as the knowledge base shows it: user rows plus embedded rows not overridden.

    Only the primary key and ``columns`` are kept (what the invariants read).
    """
    keys = list(spec.primary_key)
    cols = list(dict.fromkeys([*keys, *columns]))
    if embedded is None or combine == "replace" or not keys:
        return user.loc[:, cols]
    emb = embedded.loc[:, cols].astype(dict.fromkeys(keys, "string"))
    usr = user.loc[:, cols].astype(dict.fromkeys(keys, "string"))
    taken = usr[keys].drop_duplicates().assign(_user=True)
    merged = emb.merge(taken, on=keys, how="left")
    keep = merged["_user"].isna().to_numpy()
    return pd.concat([usr, emb[keep]], ignore_index=True)


def _read_embedded(spec: TableSpec, embedded_dir: Path | None) -> pd.DataFrame | None:
    if embedded_dir is None or not spec.path:
        return None
    path = embedded_dir / spec.path
    return pd.read_parquet(path) if path.is_file() else None


#: Tables of supply shares whose imports also run the supply-input checks of
#: :func:`critmat.checks.flag_supply_shares` (EU sourcing vs import reliance, EU sourcing
#: copying the global rows), like the dataset build and every scenario.
SUPPLY_CHECKED_TABLES: tuple[str, ...] = ("supply_shares", "eu_crm_2023")

_SUPPLY_FLAGS = ("eu_sourcing_inconsistent", "eu_sourcing_copies_global")


def _supply_violations(
    spec: TableSpec,
    imported: pd.DataFrame,
    table: pd.DataFrame,
    supply_context: tuple[pd.DataFrame, list[str]],
) -> list[Violation]:
    """EU-sourcing checks on the groups (vintage, material, stage) the import touches."""
    keys = [c for c in ("vintage", "material", "stage") if c in imported.columns]
    touched = imported[keys].astype("string").drop_duplicates()
    rows = table.astype(dict.fromkeys(keys, "string")).merge(touched, on=keys)
    if rows.empty:
        return []
    import_reliance, eu_countries = supply_context
    _, flags = flag_supply_shares(
        rows.assign(share=rows["share"].astype("float64")),
        import_reliance=import_reliance,
        eu_countries=eu_countries,
        by=keys,
    )
    flags = flags[flags["flag"].isin(_SUPPLY_FLAGS)].reset_index(drop=True)
    if flags.empty:
        return []
    inv = Invariant(
        "supply-input checks: non-EU EU-sourcing shares vs EU import reliance, EU sourcing "
        "copying the global rows; scenarios and exposure use the documented fallback "
        "(mix_status eu_sourcing_inconsistent, docs/scenarios.md)",
        by=(*keys, "mix"),
        mode="supply_checks",
    )
    return [Violation(spec.name, inv, flags)]


def check_table(
    spec: TableSpec,
    imported: pd.DataFrame,
    user_table: pd.DataFrame,
    *,
    combine: str,
    embedded_dir: Path | None,
    mode: str = "warn",
    supply_context: tuple[pd.DataFrame, list[str]] | None = None,
) -> list[Violation]:
    """Check the invariants of ``spec`` after an import.

    Parameters
    ----------
    spec
        Table spec.
    imported
        The rows of this import (validated).
    user_table
        The user's whole table after the import (merged).
    combine
        How the user table overlays the embedded one (``upsert`` or ``replace``).
    embedded_dir
        Folder of the embedded Parquet files (``None``: check the user's rows alone).
    mode
        ``strict``, ``warn`` or ``off`` (see :data:`CHECK_MODES`).
    supply_context
        ``(import_reliance, eu_countries)`` for the supply-input checks of the tables in
        :data:`SUPPLY_CHECKED_TABLES` (``None``: those checks are skipped).

    Returns
    -------
    list of Violation
        Empty when every invariant holds (or ``mode`` is ``off``).

    Raises
    ------
    critmat.checks.CheckFailed
        In ``strict`` mode, listing every violation.
    """
    if mode not in CHECK_MODES:
        raise ValueError(f"checks must be one of {', '.join(CHECK_MODES)}, got {mode!r}")
    invariants = INVARIANTS.get(spec.name, ())
    if mode == "off" or not invariants or imported.empty:
        return []
    needed = [c for inv in invariants for c in (*inv.by, *inv.where, inv.share)]
    supply = supply_context is not None and spec.name in SUPPLY_CHECKED_TABLES
    if supply:
        needed += ["vintage", "material", "stage", "mix", "country", "share"]
        needed = [c for c in dict.fromkeys(needed) if c in user_table.columns]
    table = _overlay(spec, user_table, _read_embedded(spec, embedded_dir), combine, needed)
    found: list[Violation] = []
    for inv in invariants:
        touched = _select(imported, inv)[list(inv.by)].astype("string").drop_duplicates()
        if touched.empty:
            continue
        rows = _select(table, inv)
        rows = rows.astype(dict.fromkeys(inv.by, "string")).merge(touched, on=list(inv.by))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CheckWarning)
            bad = check_shares_sum(
                rows.assign(**{inv.share: rows[inv.share].astype("float64")}),
                list(inv.by),
                share=inv.share,
                tolerance=inv.tolerance,
                mode=inv.mode,
                strict=False,
            )
        if len(bad):
            found.append(Violation(spec.name, inv, bad))
    if supply and supply_context is not None:
        found += _supply_violations(spec, imported, table, supply_context)
    if found and mode == "strict":
        lines = [line for v in found for line in v.lines()]
        raise CheckFailed(
            f"{len(lines)} invariant violation(s) after importing into '{spec.name}'; "
            "nothing was imported (use --checks warn to import anyway):\n  - "
            + "\n  - ".join(lines),
            code="check_import",
        )
    return found
