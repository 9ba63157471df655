"""Your files for the policy layer: EU consumption and production, and your own projects.

Both are read like every critmat input (CSV/TSV, XLSX, Parquet, JSON; :func:`critmat.data.
io.read_user_file`) and validated lazily: every problem with its file, row, column, value and
what would be valid, then one :class:`~critmat.errors.DataValidationError`; nothing is
guessed.

``consumption`` (replaces the proxies of the CRMA tracker where given)::

    material,stage,year,eu_consumption_t,eu_output_t,largest_third_country,largest_third_country_t,source
    gallium,processing,2024,40,2,CHN,30,my ministry 2025

``projects`` (counted against the 2030 gaps next to the CRMA Strategic Projects)::

    project,material,stage,capacity_t_yr,status,in_eu,source
    My refinery,gallium,processing,20,permitting,true,company release
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.data.io import read_user_file, row_base_for
from critmat.errors import DataValidationError, Problem, UnknownNameError

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["CONSUMPTION_COLUMNS", "PROJECT_COLUMNS", "read_consumption", "read_projects"]

TRACKER_STAGES = ("extraction", "processing", "recycling")

#: Columns of a consumption file: required first.
CONSUMPTION_COLUMNS = {
    "material": True,
    "stage": True,
    "year": True,
    "eu_consumption_t": True,
    "eu_output_t": False,
    "largest_third_country": False,
    "largest_third_country_t": False,
    "source": True,
}

#: Columns of a projects file: required first.
PROJECT_COLUMNS = {
    "project": True,
    "material": True,
    "stage": True,
    "capacity_t_yr": True,
    "status": False,
    "in_eu": False,
    "source": False,
}

_NUMERIC = {"year", "eu_consumption_t", "eu_output_t", "largest_third_country_t", "capacity_t_yr"}


def _read(
    kb: KnowledgeBase, data: pd.DataFrame | str | Path, columns: dict[str, bool], what: str
) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame, name, base = data.reset_index(drop=True), f"<{what} frame>", 1
        file = None
    else:
        frame, _ = read_user_file(data)
        name, base, file = str(data), row_base_for(Path(data)), str(data)
    problems: list[Problem] = []
    missing = [c for c, req in columns.items() if req and c not in frame.columns]
    extra = [c for c in frame.columns if c not in columns]
    for c in missing:
        problems.append(
            Problem(
                f"required column '{c}' is missing",
                file=file,
                column=c,
                expected="columns " + ", ".join(columns),
            )
        )
    for c in extra:
        problems.append(
            Problem(
                f"unknown column '{c}'",
                file=file,
                column=str(c),
                expected="columns " + ", ".join(columns),
            )
        )
    if problems:
        raise DataValidationError(problems, source=name)
    out = frame.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = pd.NA
    for i, rec in enumerate(out.to_dict("records")):
        row = base + i

        def bad(col: str, msg: str, expected: str, value: Any, row: int = row, **kw: Any) -> None:
            problems.append(
                Problem(
                    msg, file=file, row=row, column=col, value=str(value), expected=expected, **kw
                )
            )

        for col, req in columns.items():
            v = rec[col]
            empty = (
                v is None
                or (isinstance(v, float) and math.isnan(v))
                or v is pd.NA
                or (isinstance(v, str) and not v.strip())
            )
            if empty:
                if req:
                    bad(col, f"'{col}' is empty", "a value", "")
                continue
            if col in _NUMERIC:
                try:
                    num = float(v)
                except (TypeError, ValueError):
                    bad(col, f"'{col}' is not a number", "a finite number >= 0", v)
                    continue
                if not math.isfinite(num) or num < 0:
                    bad(col, f"'{col}' must be finite and >= 0", "a finite number >= 0", v)
                elif col == "year" and not (1900 <= num <= 2100 and num == int(num)):
                    bad(col, "'year' is not a year", "a year such as 2024", v)
                elif col == "eu_consumption_t" and num == 0:
                    bad(col, "EU consumption 0 t gives no ratio", "a consumption > 0 t", v)
            elif col == "material":
                try:
                    ids = kb.select.materials(str(v))
                    out.at[i, "material"] = (ids or [str(v)])[0]
                except UnknownNameError as exc:
                    bad(
                        col,
                        f"unknown material '{v}'",
                        "a knowledge-base material",
                        v,
                        suggestions=tuple(exc.suggestions),
                    )
            elif col == "stage" and str(v).strip().lower() not in TRACKER_STAGES:
                bad(col, f"unknown stage '{v}'", "one of " + ", ".join(TRACKER_STAGES), v)
            elif col == "largest_third_country":
                try:
                    ids = kb.select.countries(str(v)) or []
                    if len(ids) != 1:
                        raise UnknownNameError("country", str(v))
                    out.at[i, col] = ids[0]
                except UnknownNameError as exc:
                    bad(
                        col,
                        f"unknown country '{v}'",
                        "one ISO-3 code or country name",
                        v,
                        suggestions=tuple(exc.suggestions),
                    )
            elif col == "in_eu" and str(v).strip().lower() not in ("true", "false", "1", "0"):
                bad(col, f"'in_eu' must be true or false, got '{v}'", "true or false", v)
    if problems:
        raise DataValidationError(problems, source=name)
    for c in _NUMERIC & set(columns):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["stage"] = out["stage"].astype(str).str.strip().str.lower()
    out.attrs["source"] = name
    return out


def read_consumption(kb: KnowledgeBase, data: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Read and validate EU consumption and production figures (tonnes, by stage and year).

    Raises
    ------
    critmat.errors.DataValidationError
        With every problem (unknown material or country, stage, negative or non-numeric
        tonnes, consumption 0, a third-country tonnage without its country).
    """
    out = _read(kb, data, CONSUMPTION_COLUMNS, "consumption")
    bad = out["largest_third_country_t"].notna() & out["largest_third_country"].isna()
    if bad.any():
        raise DataValidationError(
            [
                Problem(
                    "largest_third_country_t is given without largest_third_country",
                    row=int(i) + 2,
                    column="largest_third_country",
                    expected="the ISO-3 code of the country the tonnes come from",
                )
                for i in out.index[bad]
            ],
            source=str(out.attrs.get("source", "")),
        )
    out["year"] = out["year"].astype(int)
    return out


def read_projects(kb: KnowledgeBase, data: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Read and validate your projects (content tonnes per year by material and stage)."""
    out = _read(kb, data, PROJECT_COLUMNS, "projects")
    out["in_eu"] = (
        out["in_eu"].fillna("true").astype(str).str.strip().str.lower().isin(("true", "1"))
    )
    return out
