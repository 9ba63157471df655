"""Bills of materials and build rates: read, validate, turn into annual material demand.

Your BOMs (``system, component, material, kg_per_unit, kind, substitutable_share, source``)
and build rates (``programme, system, units_per_year, priority, kind, source``) live in the
user tables ``bom`` and ``build_rates`` (``critmat data import FILE --table bom``), or are
passed as a file or frame and validated exactly like an import, with nothing written.
Without them, the cited reference data stand in (:mod:`critmat.defence.dataset`).

Annual demand of material m for system j in programme p (METHODS.md §6.4, without the
substitution factor, which capability-at-risk applies)::

    D[p, j, m] = units_per_year[p, j] * sum over components c of kg_per_unit[j, c, m] / 1000   (t)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmat.defence.common import KIND_RANK, kind_of_rank, worst_kind
from critmat.defence.dataset import (
    BOM_COLUMNS,
    RATE_COLUMNS,
    reference_bom,
    reference_build_rates,
)
from critmat.errors import ParameterError
from critmat.provenance import attach
from critmat.units import FRACTION, KG_PER_UNIT, UNITS_PER_YEAR
from critmat.vocab import DefenceDemandStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "DEMAND_COLUMNS",
    "SOURCES",
    "BomInput",
    "DemandSource",
    "annual_demand",
    "demand_source",
    "read_bom",
    "read_build_rates",
]

#: Which data to use: ``auto`` (your table if it has rows, else the reference data),
#: ``user``, ``reference`` or ``both``.
SOURCES = ("auto", "user", "reference", "both")

#: A BOM or build-rate input: a frame, a file (CSV/TSV/XLSX/Parquet) or ``None`` (tables).
BomInput: TypeAlias = pd.DataFrame | str | Path | None

Which = Literal["auto", "user", "reference", "both"]


class DemandSource(BaseModel):
    """Where defence demand comes from: bills of materials and build rates.

    One model for every function of the defence layer that needs demand (demand, exposure,
    capability at risk, importance, criticality, energy competition, the reports) and for
    the faces (CLI options ``--bom --build-rates --which --default-intensity
    --default-build-rate``, an API body).

    Attributes
    ----------
    bom, build_rates
        Frames or files (CSV/TSV/XLSX/Parquet), validated like an import with nothing
        written; ``None`` reads your user tables ``bom`` / ``build_rates`` (see ``which``).
    which
        With tables: ``auto`` (your rows if you have any, else the cited reference data),
        ``user``, ``reference`` or ``both``.
    default_intensity_kg
        Placeholder kg per unit for cited uses without a published quantity (reference data
        only; flagged ``assumption``).
    default_build_rate
        Placeholder units per year for named systems without a published rate (reference
        data only; flagged ``assumption``).

    Examples
    --------
    >>> DemandSource().which
    'auto'
    >>> DemandSource(bom="my_bom.csv").bom
    PosixPath('my_bom.csv')
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    bom: pd.DataFrame | Path | None = None
    build_rates: pd.DataFrame | Path | None = None
    which: Which = "auto"
    default_intensity_kg: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    default_build_rate: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("bom", "build_rates", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        return Path(value) if isinstance(value, str) else value

    @property
    def given(self) -> bool:
        """A BOM frame or file was passed (not the tables)."""
        return self.bom is not None


def demand_source(value: DemandSource | Mapping[str, Any] | None = None) -> DemandSource:
    """Return ``value`` as a :class:`DemandSource` (``None``: the defaults).

    Raises
    ------
    critmat.errors.ParameterError
        For invalid fields, naming each one and what is valid.

    Examples
    --------
    >>> demand_source({"which": "usr"})
    Traceback (most recent call last):
    ...
    critmat.errors.ParameterError: demand source: which: Input should be 'auto', ... (got 'usr')
    """
    if isinstance(value, DemandSource):
        return value
    try:
        return DemandSource.model_validate(dict(value or {}))
    except ValidationError as exc:
        problems = [
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        raise ParameterError("demand source: " + "; ".join(problems)) from None


#: Columns of :func:`annual_demand`.
DEMAND_COLUMNS = [
    "programme",
    "system",
    "material",
    "kg_per_unit",
    "units_per_year",
    "demand_t",
    "priority",
    "substitutable_share",
    "bom_kind",
    "rate_kind",
    "kind",
    "rests_on_assumption",
    "status",
    "source_id",
]


def _validate(kb: KnowledgeBase, data: pd.DataFrame | str | Path, table: str) -> pd.DataFrame:
    """Validate a frame or file against ``table`` (every problem at once; nothing written)."""
    from critmat.data.io import read_user_file, row_base_for
    from critmat.data.validate import validate_frame

    spec = kb.catalog.table(table)
    if isinstance(data, pd.DataFrame):
        frame, name, base = data.copy(), f"<{table} frame>", 1
    else:
        p = Path(data)
        frame, _ = read_user_file(p)
        name, base = p.name, row_base_for(p)
    if "source_id" not in {str(c).strip().lower() for c in frame.columns}:
        frame["source_id"] = f"user:{name}"
    return validate_frame(frame, spec, kb.validation_context(), file=name, row_base=base)


def _pick(
    kb: KnowledgeBase, data: BomInput, table: str, which: str, reference: pd.DataFrame | None
) -> pd.DataFrame:
    if which not in SOURCES:
        raise ParameterError(f"which must be one of {', '.join(SOURCES)}, got '{which}'")
    if data is not None:
        return _validate(kb, data, table)
    user = kb.table(table)
    if which == "user" or (which == "auto" and len(user)):
        return user
    assert reference is not None
    if which == "reference" or len(user) == 0:
        return reference
    return pd.concat([user, reference], ignore_index=True)


def read_bom(
    kb: KnowledgeBase,
    bom: BomInput = None,
    *,
    which: str = "auto",
    default_intensity_kg: float | None = None,
) -> pd.DataFrame:
    """Return a validated bill of materials.

    Parameters
    ----------
    kb
        Knowledge base.
    bom
        A frame or file to validate (like an import, nothing written); ``None`` reads the
        user table ``bom``.
    which
        With ``bom=None``: ``auto`` (your rows if any, else the reference BOM), ``user``,
        ``reference`` or ``both``.
    default_intensity_kg
        Passed to :func:`critmat.defence.dataset.reference_bom` (placeholder intensity of
        cited but unquantified uses, flagged ``assumption``).

    Returns
    -------
    pandas.DataFrame
        The ``bom`` columns with canonical material ids.

    Raises
    ------
    critmat.errors.DataValidationError
        Listing every problem (unknown materials with suggestions, bad numbers, ...).
    """
    ref = (
        reference_bom(kb, default_intensity_kg=default_intensity_kg)
        if bom is None and which != "user"
        else None
    )
    out = _pick(kb, bom, "bom", which, ref)[BOM_COLUMNS].reset_index(drop=True)
    prov = kb.provenance("defence.bom", out, which=which, default_intensity_kg=default_intensity_kg)
    prov.units = {"kg_per_unit": KG_PER_UNIT, "substitutable_share": FRACTION}
    return attach(out, prov)


def read_build_rates(
    kb: KnowledgeBase,
    build_rates: BomInput = None,
    *,
    which: str = "auto",
    default_build_rate: float | None = None,
) -> pd.DataFrame:
    """Return validated build rates (see :func:`read_bom` for the parameters).

    Returns
    -------
    pandas.DataFrame
        ``programme, system, units_per_year, priority, kind, source, note, source_id``.
    """
    ref = (
        reference_build_rates(kb, default_build_rate=default_build_rate)
        if build_rates is None and which != "user"
        else None
    )
    out = _pick(kb, build_rates, "build_rates", which, ref)[RATE_COLUMNS].reset_index(drop=True)
    prov = kb.provenance(
        "defence.build_rates", out, which=which, default_build_rate=default_build_rate
    )
    prov.units = {"units_per_year": UNITS_PER_YEAR}
    return attach(out, prov)


def _join_ids(series: pd.Series) -> str:
    return ";".join(sorted({s for v in series.dropna() for s in str(v).split(";")}))


def annual_demand(bom: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Annual material demand per programme, system and material (pure, vectorised).

    Parameters
    ----------
    bom
        ``system, component, material, kg_per_unit, kind, substitutable_share, source_id``.
    rates
        ``programme, system, units_per_year, priority, kind, source_id``.

    Returns
    -------
    pandas.DataFrame
        :data:`DEMAND_COLUMNS`: ``kg_per_unit`` summed over components,
        ``demand_t = units_per_year * kg_per_unit / 1000``, ``substitutable_share`` weighted
        by kg, ``kind`` the least certain of the BOM and rate kinds, ``status`` ``ok``,
        ``no_build_rate`` (BOM without a rate: demand NaN, absence is not zero) or ``no_bom``
        (a rate for a system without BOM rows).

    Examples
    --------
    >>> import pandas as pd
    >>> bom = pd.DataFrame({"system": ["S"], "component": ["c"], "material": ["gallium"],
    ...                     "kg_per_unit": [2.0], "kind": ["user"],
    ...                     "substitutable_share": [0.0], "source_id": ["x"]})
    >>> rates = pd.DataFrame({"programme": ["P"], "system": ["S"], "units_per_year": [50.0],
    ...                       "priority": [1.0], "kind": ["published"], "source_id": ["y"]})
    >>> annual_demand(bom, rates)[["system", "material", "demand_t", "kind"]].to_dict("records")
    [{'system': 'S', 'material': 'gallium', 'demand_t': 0.1, 'kind': 'user'}]
    """
    kg = bom["kg_per_unit"].astype("float64")
    b = bom.assign(
        kg=kg,
        sub_kg=kg * bom["substitutable_share"].astype("float64").fillna(0.0),
        kind_rank=bom["kind"].astype(object).map(KIND_RANK).astype("float64"),
    )
    # one grouping, each aggregation on its own (no named-aggregation machinery)
    g = b.groupby(["system", "material"], sort=False)
    per = g[["kg", "sub_kg"]].sum().reset_index().rename(columns={"kg": "kg_per_unit"})
    per["kind_rank"] = g["kind_rank"].max().to_numpy()
    per["bom_source"] = g["source_id"].agg(_join_ids).to_numpy()
    per["bom_kind"] = kind_of_rank(per["kind_rank"])
    kg_v = per["kg_per_unit"].to_numpy()
    per["substitutable_share"] = np.divide(
        per["sub_kg"].to_numpy(), kg_v, out=np.zeros(len(per)), where=kg_v > 0
    )
    r = pd.DataFrame(
        {
            "programme": rates["programme"],
            "system": rates["system"],
            "units_per_year": rates["units_per_year"].astype("float64"),
            "priority": rates["priority"].astype("float64"),
            "rate_kind": rates["kind"].astype(object),
            "rate_source": rates["source_id"].astype(object),
        }
    )
    m = per.merge(r, on="system", how="outer")
    # an outer join on the system: a row is in both when its system is in both
    in_bom = m["system"].isin(per["system"]).to_numpy(dtype=bool)
    in_rates = m["system"].isin(r["system"]).to_numpy(dtype=bool)
    m["status"] = np.select(
        [in_bom & in_rates, in_bom],
        [DefenceDemandStatus.OK.value, DefenceDemandStatus.NO_BUILD_RATE.value],
        default=DefenceDemandStatus.NO_BOM.value,
    )
    m["demand_t"] = m["units_per_year"] * m["kg_per_unit"] / 1000.0
    m["kind"] = worst_kind(m["bom_kind"].astype(object), m["rate_kind"].astype(object))
    m["rests_on_assumption"] = (
        ((m["bom_kind"] == "assumption") | (m["rate_kind"] == "assumption"))
        .fillna(False)
        .astype(bool)
    )
    bom_src = m["bom_source"].astype(object).fillna("").astype(str)
    rate_src = m["rate_source"].astype(object).fillna("").astype(str)
    m["source_id"] = (bom_src + ";" + rate_src).str.strip(";")
    return m[DEMAND_COLUMNS].sort_values(
        ["programme", "system", "material"], na_position="last", ignore_index=True
    )
