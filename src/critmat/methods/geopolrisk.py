"""GeoPolRisk: geopolitical supply risk of raw-material imports (METHODS.md §3).

Method: Gemechu et al. (2015) ... Koyamparambath et al. (2024); reference implementation
geopolrisk-py (akoyamp/geopolrisk-py, ``docs/background.rst``, ``assessment/core.py``).
For raw material ``A``, importing economy ``c`` and year ``y``::

    WTA     = sum_i g_i f_i / (p + F)                     import risk (weighted trade average)
    Score   = HHI_A * WTA                                 GeoPolRisk score, in [0, 1]
    price   = sum value / sum quantity of c's imports     kUSD/t (= USD/kg)
    Midpoint = Score * price                              USD/kg
    CF (code)  = Score * price / 0.409412948              kg Cu-eq/kg (constant copper CF)
    CF (paper) = Midpoint / Midpoint(copper, c, y)        kg Cu-eq/kg

``g_i`` = political instability of exporter ``i`` (normalised WGI PV, 0 stable ... 1
unstable), ``f_i`` = imports from ``i`` (t), ``F`` = total imports (t), ``p`` = domestic
production (t) and ``HHI_A`` = Herfindahl-Hirschman index (fraction) of world production.

The module has two layers:

(a) the scalar formulas over arrays (:func:`import_risk`, :func:`score`,
    :func:`unit_price`, :func:`midpoint`, :func:`cf_reference`, :func:`cf_paper`), which
    the published test vectors feed directly;
(b) :func:`geopolrisk_cube`, which computes every material x importer x year at once from
    attributed trade, production, governance and importer units: integer-coded arrays, one
    expansion of trade rows to importer units and ``numpy.bincount`` group sums, with no
    Python loop over materials, importers or years.

Absence is not zero: missing governance, trade or production gives NaN with a status
(:data:`STATUSES`), never 0 or a silent 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from critmat import units as u
from critmat.vocab import GeoPolRiskStatus, describe

Status = GeoPolRiskStatus

__all__ = [
    "CU_CF_REFERENCE",
    "DEFAULT_COLUMNS",
    "DETAIL_COLUMNS",
    "STATUSES",
    "UNITS",
    "IntraRegion",
    "MissingGovernance",
    "PriceBasis",
    "cf_paper",
    "cf_reference",
    "geopolrisk_cube",
    "import_risk",
    "midpoint",
    "score",
    "unit_price",
]

FloatArray = npt.NDArray[np.float64]

#: Copper's characterisation factor used by geopolrisk-py's ``core.GeoPolRisk`` ("average CF
#: of copper for OECD countries 2017-2021", in USD/kg): CF (code) = Score * price / this.
CU_CF_REFERENCE: Final = 0.409412948

#: Status of each result row, in order of precedence (the first that applies is reported):
#: ``{value: meaning}`` of :class:`critmat.vocab.GeoPolRiskStatus`.
STATUSES: Final[dict[str, str]] = describe(GeoPolRiskStatus)

#: Columns of the default result (the CLI contract) and of the detailed result.
DEFAULT_COLUMNS: Final[tuple[str, ...]] = (
    "material",
    "importer",
    "year",
    "hhi",
    "import_risk",
    "score",
    "price",
    "cf",
    "status",
)
DETAIL_COLUMNS: Final[tuple[str, ...]] = (
    "material",
    "importer",
    "year",
    "hhi",
    "import_risk",
    "score",
    "price",
    "midpoint",
    "cf",
    "cf_paper",
    "numerator",
    "imports_t",
    "imports_kusd",
    "domestic_production_t",
    "governance_coverage",
    "quantity_coverage",
    "status",
)

#: Unit of every numeric result column.
UNITS: Final[dict[str, str]] = {
    "year": u.YEAR,
    "hhi": u.FRACTION,
    "import_risk": u.FRACTION,
    "score": u.FRACTION,
    "price": u.KUSD_PER_T,
    "midpoint": u.USD_PER_KG,
    "cf": u.KG_CU_EQ_PER_KG,
    "cf_paper": u.KG_CU_EQ_PER_KG,
    "numerator": u.TONNES_WEIGHTED,
    "imports_t": u.TONNES,
    "imports_kusd": u.KUSD,
    "domestic_production_t": u.TONNES,
    "governance_coverage": u.FRACTION,
    "quantity_coverage": u.FRACTION,
}

#: Statuses in the order of their integer codes inside :func:`geopolrisk_cube`.
_STATUS_ORDER: Final[tuple[GeoPolRiskStatus, ...]] = tuple(GeoPolRiskStatus)

IntraRegion = Literal["zero_risk", "exclude"]
MissingGovernance = Literal["nan", "fill", "exclude"]
PriceBasis = Literal["reported_quantity", "all_value"]


# --------------------------------------------------------------------------- (a) formulas


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _safe_divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` where ``den > 0``, NaN elsewhere (no warnings)."""
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    return out


def import_risk(
    numerator: npt.ArrayLike, total_imports: npt.ArrayLike, domestic_production: npt.ArrayLike
) -> FloatArray:
    """Import risk (weighted trade average) ``WTA = sum_i g_i f_i / (p + F)``.

    Parameters
    ----------
    numerator
        ``sum_i g_i f_i``: imports (t) weighted by the exporters' political instability.
    total_imports
        ``F``: total imports (t).
    domestic_production
        ``p``: domestic production (t).

    Returns
    -------
    numpy.ndarray
        WTA in [0, 1]; NaN where ``p + F`` is 0 (nothing imported, nothing produced) or an
        input is NaN.

    Examples
    --------
    >>> float(import_risk(45.0, 100.0, 0.0))
    0.45
    >>> float(import_risk(0.0, 0.0, 0.0))
    nan
    """
    return _safe_divide(_f64(numerator), _f64(total_imports) + _f64(domestic_production))


def score(
    hhi: npt.ArrayLike,
    numerator: npt.ArrayLike,
    total_imports: npt.ArrayLike,
    domestic_production: npt.ArrayLike,
) -> FloatArray:
    """GeoPolRisk score ``HHI * sum_i g_i f_i / (p + F)`` (Koyamparambath et al. 2024, Eq. 1).

    Parameters
    ----------
    hhi
        Herfindahl-Hirschman index of world production (fraction, 0-1).
    numerator, total_imports, domestic_production
        See :func:`import_risk`.

    Returns
    -------
    numpy.ndarray
        Score in [0, 1]; NaN where the import risk is undefined.

    Examples
    --------
    >>> float(score(0.5, 45.0, 100.0, 0.0))
    0.225
    """
    return _f64(hhi) * import_risk(numerator, total_imports, domestic_production)


def unit_price(value_kusd: npt.ArrayLike, quantity_t: npt.ArrayLike) -> FloatArray:
    """Import unit value ``sum value / sum quantity`` in kUSD/t (= USD/kg).

    Returns NaN where the quantity is 0 or missing.

    Examples
    --------
    >>> float(unit_price(250.0, 100.0))
    2.5
    """
    return _safe_divide(_f64(value_kusd), _f64(quantity_t))


def midpoint(score_: npt.ArrayLike, price: npt.ArrayLike) -> FloatArray:
    """Midpoint ``Score * price`` (USD/kg), the numerator of the paper's CF (Eq. 2).

    Examples
    --------
    >>> float(midpoint(0.2, 2.5))
    0.5
    """
    return _f64(score_) * _f64(price)


def cf_reference(
    score_: npt.ArrayLike, price: npt.ArrayLike, copper_cf: float = CU_CF_REFERENCE
) -> FloatArray:
    """Characterisation factor as the reference implementation computes it.

    ``CF = Score * price / 0.409412948`` (kg Cu-eq/kg), the constant being copper's average
    midpoint for OECD importers 2017-2021 (geopolrisk-py ``core.GeoPolRisk``).

    Examples
    --------
    >>> round(float(cf_reference(0.409412948, 1.0)), 12)
    1.0
    """
    return midpoint(score_, price) / float(copper_cf)


def cf_paper(midpoint_: npt.ArrayLike, copper_midpoint: npt.ArrayLike) -> FloatArray:
    """Characterisation factor as the paper defines it (Eq. 3).

    ``CF = Midpoint(A, c, y) / Midpoint(copper, c, y)`` (kg Cu-eq/kg): normalised by copper's
    midpoint for the same importer and year. NaN where copper's midpoint is 0 or unknown.

    Examples
    --------
    >>> float(cf_paper(0.5, 0.25))
    2.0
    """
    return _safe_divide(_f64(midpoint_), _f64(copper_midpoint))


# --------------------------------------------------------------------------- (b) the cube


def _membership(
    units: Mapping[str, Sequence[str]] | pd.DataFrame,
) -> tuple[list[Any], list[Any]]:
    """``(units, members)``: the unit and the member of every membership, duplicates dropped."""
    if isinstance(units, pd.DataFrame):
        frame = (
            units.loc[:, ["unit", "member"]]
            .astype({"unit": object, "member": object})
            .drop_duplicates()
        )
        return frame["unit"].tolist(), frame["member"].tolist()
    pairs = dict.fromkeys((u, m) for u, ms in units.items() for m in ms)
    return [u for u, _ in pairs], [m for _, m in pairs]


@dataclass
class _Factor:
    """A text column as integer codes into its distinct values (one hash pass)."""

    codes: npt.NDArray[np.int64]  # position in ``uniques``, -1 for NA
    uniques: list[object]
    has_na: bool

    def within(self, index: pd.Index) -> npt.NDArray[np.int64]:
        """Position of every value in ``index`` (``Index.get_indexer``), -1 where absent.

        NA matches an NA entry of ``index``. Only the distinct values are looked up; the
        rows take their position through their code.
        """
        lut = np.asarray(
            index.get_indexer(pd.Index([*self.uniques, None], dtype=object)), dtype=np.int64
        )
        codes = (
            np.where(self.codes < 0, len(self.uniques), self.codes) if self.has_na else self.codes
        )
        return lut[codes]


def _factorize(values: pd.Series | npt.ArrayLike) -> _Factor:
    """Integer codes and distinct values of a text column.

    A categorical column is already encoded (its codes and categories are used as they
    are); text goes through Arrow (``pyarrow.compute.dictionary_encode`` on the store's
    Arrow-backed strings, without a conversion to Python objects); other values through
    ``pandas.factorize``.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes.to_numpy(), dtype=np.int64)  # already encoded
        return _Factor(codes, values.cat.categories.tolist(), bool((codes < 0).any()))
    try:
        arr = _arrow_text(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed objects: pandas
        obj = (
            values.astype(object).to_numpy()
            if isinstance(values, pd.Series)
            else np.asarray(values, dtype=object)
        )
        codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        return _Factor(codes, list(uniques), bool((codes < 0).any()))
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        dictionaries = [chunk.dictionary for chunk in enc.chunks]
        longest = max(dictionaries, key=len, default=pa.array([], type=arr.type))
        if not all(d.equals(longest.slice(0, len(d))) for d in dictionaries):
            # chunks that do not share one growing dictionary: encode them as one array
            enc = pc.dictionary_encode(arr.combine_chunks())
            dictionary, indices = enc.dictionary, enc.indices
        else:
            dictionary = longest
            indices = pa.chunked_array(
                [chunk.indices for chunk in enc.chunks], type=enc.type.index_type
            )
    else:
        dictionary, indices = enc.dictionary, enc.indices
    has_na = indices.null_count > 0
    if has_na:
        indices = pc.fill_null(indices, -1)
    codes = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return _Factor(codes, dictionary.to_pylist(), has_na)


def _expand(
    mem_unit: npt.NDArray[np.int64],
    mem_member: npt.NDArray[np.int64],
    member_codes: npt.NDArray[np.int64],
    n_countries: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Repeat each row once per membership ``(mem_unit, mem_member)`` of its country.

    Returns the row index and the unit code of every expanded row, in row order (and, for
    a row, in order of the memberships).
    """
    order = np.argsort(mem_member, kind="stable")
    mm, mu = mem_member[order], mem_unit[order]
    counts = np.bincount(mm, minlength=n_countries)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ok = member_codes >= 0
    per_row = np.where(ok, counts[np.where(ok, member_codes, 0)], 0)
    rows = np.repeat(np.arange(len(member_codes)), per_row)
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    offset = np.arange(len(rows)) - first
    unit = mu[starts[member_codes[rows]] + offset]
    return rows, unit.astype(np.int64)


@dataclass
class _Grid:
    """Integer coding of the result grid material x unit x year and of countries."""

    materials: list[str]
    units: list[str]
    years: list[int]
    countries: pd.Index
    mem_unit: npt.NDArray[np.int64]
    mem_member: npt.NDArray[np.int64]

    @property
    def size(self) -> int:
        return len(self.materials) * len(self.units) * len(self.years)

    def codes(
        self, values: pd.Series | npt.ArrayLike, index: Sequence[object] | pd.Index
    ) -> npt.NDArray[np.int64]:
        """Position of each value in ``index``, -1 where absent (``Index.get_indexer``).

        Text goes through Arrow (``pyarrow.compute.index_in``, on the store's Arrow-backed
        strings without a conversion to Python objects); integers through a hash index.
        """
        idx = index if isinstance(index, pd.Index) else pd.Index(list(index))
        if isinstance(values, pd.Series) and pd.api.types.is_integer_dtype(values.dtype):
            return np.asarray(idx.get_indexer(values.to_numpy()), dtype=np.int64)
        if not len(idx) or pd.api.types.is_numeric_dtype(idx.dtype):
            arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
            return np.asarray(idx.get_indexer(arr), dtype=np.int64)
        return _index_in(values, idx)

    def text_codes(
        self, values: pd.Series | npt.ArrayLike | _Factor, index: pd.Index
    ) -> npt.NDArray[np.int64]:
        """:meth:`codes` of a text column through one factorisation (or a given one)."""
        factor = values if isinstance(values, _Factor) else _factorize(values)
        return factor.within(index)

    def year_codes(self, values: pd.Series) -> npt.NDArray[np.int64]:
        """Position of each year in :attr:`years` (sorted), -1 where absent."""
        y = values.to_numpy(dtype=np.int64)
        grid = np.asarray(self.years, dtype=np.int64)
        if not len(grid) or not len(y):
            return np.full(len(y), -1, dtype=np.int64)
        lo = int(grid[0])
        if int(grid[-1]) - lo + 1 == len(grid):  # consecutive years: the offset is the code
            code = y - lo
            outside = (code < 0) | (code >= len(grid))
            if outside.any():
                code[outside] = -1
            return code
        lut = np.full(int(grid[-1]) - lo + 2, -1, dtype=np.int64)  # last entry: outside
        lut[grid - lo] = np.arange(len(grid))
        offset = y - lo
        outside = (offset < 0) | (offset >= len(lut) - 1)
        if outside.any():
            offset[outside] = len(lut) - 1
        return lut[offset]

    def expand(
        self, member_codes: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Repeat each row once per unit its country belongs to.

        Returns the row index and the unit code of every expanded row.
        """
        return _expand(self.mem_unit, self.mem_member, member_codes, len(self.countries))

    def passes(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Split the units into those reached directly and those reached by expansion.

        Going through the units in order, a unit whose members belong to no unit taken so
        far is *direct*: each of its members maps to it, so its rows need no copy (every
        single economy of the cube, or EU27 alone). The memberships of the other units
        (EU27 next to its members, overlapping groups) are returned for :func:`_expand`.
        Each unit is summed in one pass over its rows in row order, so the split does not
        change a single bit of the sums.

        Returns
        -------
        tuple
            ``direct`` (the direct unit of each country, -1 for none) and the remaining
            memberships ``(units, members)``.
        """
        direct = [-1] * len(self.countries)
        members: dict[int, list[int]] = {}
        for unit, m in zip(self.mem_unit.tolist(), self.mem_member.tolist(), strict=True):
            if unit >= 0 and m >= 0:
                members.setdefault(unit, []).append(m)
        rest_u: list[int] = []
        rest_m: list[int] = []
        for unit, ms in members.items():
            if all(direct[m] < 0 for m in ms):
                for m in ms:
                    direct[m] = unit
            else:
                rest_u.extend([unit] * len(ms))
                rest_m.extend(ms)
        return (
            np.asarray(direct, dtype=np.int64),
            np.asarray(rest_u, dtype=np.int64),
            np.asarray(rest_m, dtype=np.int64),
        )


def _arrow_text(values: pd.Series | npt.ArrayLike) -> pa.Array | pa.ChunkedArray:
    """``values`` as an Arrow string array (zero-copy for Arrow-backed pandas strings)."""
    arr = pa.array(values, from_pandas=True)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    return arr


def _index_in(values: pd.Series | npt.ArrayLike, idx: pd.Index) -> npt.NDArray[np.int64]:
    """``idx.get_indexer(values)`` for text: NA matches an NA entry of ``idx``, else -1."""
    try:
        arr = _arrow_text(values)
        labels = [None if pd.isna(v) else str(v) for v in idx]
        value_set = pa.array(labels, type=arr.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed objects: pandas
        obj = (
            values.astype(object).to_numpy()
            if isinstance(values, pd.Series)
            else np.asarray(values, dtype=object)
        )
        return np.asarray(idx.get_indexer(obj), dtype=np.int64)
    found = pc.index_in(arr, value_set=value_set, skip_nulls=False)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _unique_text(columns: Sequence[pd.Series | npt.ArrayLike]) -> pd.Index:
    """Distinct values of text columns in order of first appearance (NA included once)."""
    try:
        arrays = [_arrow_text(c) for c in columns]
        chunks = [
            chunk.cast(pa.large_string())
            for a in arrays
            for chunk in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])
        ]
        values = pc.unique(pa.chunked_array(chunks, type=pa.large_string())).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        values = list(
            pd.unique(
                np.concatenate(
                    [
                        c.astype(object).to_numpy()
                        if isinstance(c, pd.Series)
                        else np.asarray(c, dtype=object)
                        for c in columns
                    ]
                )
            )
        )
    return pd.Index(values, dtype=object)


def _sum(group: npt.NDArray[np.int64], weights: npt.ArrayLike, size: int) -> FloatArray:
    return np.asarray(np.bincount(group, weights=weights, minlength=size), dtype=np.float64)


@dataclass
class _TradeSums:
    imports_t: FloatArray
    value: FloatArray
    value_with_q: FloatArray
    numerator: FloatArray
    numerator_all: FloatArray
    missing_t: FloatArray
    missing_all_t: FloatArray
    selected_t: FloatArray


@dataclass
class _TradeColumns:
    """Trade rows as integer codes and numbers (from :func:`_trade_columns`)."""

    material: _Factor
    importer: _Factor
    exporter: _Factor
    frame: pd.DataFrame


def _trade_columns(trade: pd.DataFrame) -> _TradeColumns:
    return _TradeColumns(
        _factorize(trade["material"]),
        _factorize(trade["importer"]),
        _factorize(trade["exporter"]),
        trade,
    )


def _trade_sums(
    columns: _TradeColumns,
    grid: _Grid,
    g_matrix: FloatArray,
    selected: npt.NDArray[np.bool_],
    *,
    intra_region: IntraRegion,
    fill: float | None,
) -> _TradeSums:
    """Sum the import flows of every unit into the material x unit x year grid.

    The values that do not depend on the importing unit (quantities, values, the
    exporter's instability times the quantity) are computed once per trade row; each unit
    then adds up its rows with ``numpy.bincount``: the direct units (:meth:`_Grid.passes`)
    over the rows as they are, the others over the rows of their members, repeated once
    per such unit. Imports without governance value (few) are summed over those rows only.
    """
    trade = columns.frame
    n_units, n_years, n_c = len(grid.units), len(grid.years), len(grid.countries)
    size = grid.size
    mat = grid.text_codes(columns.material, pd.Index(grid.materials, dtype=object))
    yr = grid.year_codes(trade["year"])
    imp = grid.text_codes(columns.importer, grid.countries)
    exp = grid.text_codes(columns.exporter, grid.countries)
    q_all = trade["quantity_t"].to_numpy(dtype=np.float64, na_value=np.nan)
    v_all = trade["value_kusd"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.minimum(np.minimum(mat, yr), np.minimum(imp, exp)) >= 0
    if not keep.all():
        mat, yr, imp, exp, q_all, v_all = (a[keep] for a in (mat, yr, imp, exp, q_all, v_all))

    # per trade row, whatever the unit
    has_q = ~np.isnan(q_all)
    q0 = np.where(has_q, q_all, 0.0)
    v0 = np.where(np.isnan(v_all), 0.0, v_all)
    if np.isinf(v0).any():  # as numpy.nan_to_num
        v0 = np.nan_to_num(v0)
    vq = np.where(has_q, v0, 0.0)
    g = g_matrix.ravel()[exp * n_years + yr]
    no_g = np.isnan(g)
    gq0 = np.where(no_g, 0.0 if fill is None else fill, g) * q0  # g_i f_i
    lacks_g = no_g & (q0 > 0)  # imports from an exporter without g
    every_exporter = bool(selected.all())
    my = mat * (n_units * n_years) + yr  # the grid cell of a row, but for its unit

    is_member = np.zeros(n_units * n_c, dtype=bool)  # unit x country membership, flat
    ok = (grid.mem_unit >= 0) & (grid.mem_member >= 0)
    is_member[grid.mem_unit[ok] * n_c + grid.mem_member[ok]] = True

    def unit_sums(
        rows: npt.NDArray[np.int64] | None, unit: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        def take(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return a if rows is None else a[rows]

        e, q, v, v_q, gq, lacks = (take(a) for a in (exp, q0, v0, vq, gq0, lacks_g))
        gid = take(my) + unit * n_years
        intra = is_member[unit * n_c + e]
        if intra_region == "exclude" and intra.any():
            outside = ~intra
            e, q, v, v_q, gq, lacks, gid = (a[outside] for a in (e, q, v, v_q, gq, lacks, gid))
            intra = intra[outside]
        gq = np.where(intra, 0.0, gq)  # g = 0 inside the unit
        lack = np.flatnonzero(lacks & ~intra)  # imports from members are covered
        imports_t = _sum(gid, q, size)
        numerator_all = _sum(gid, gq, size)
        missing_all_t = _sum(gid[lack], q[lack], size)
        if every_exporter:  # the selected flows are all flows
            numerator, missing_t, selected_t = numerator_all, missing_all_t, imports_t
        else:
            sel = selected[e]
            numerator = _sum(gid, np.where(sel, gq, 0.0), size)
            lack_sel = lack[sel[lack]]
            missing_t = _sum(gid[lack_sel], q[lack_sel], size)
            selected_t = _sum(gid, np.where(sel, q, 0.0), size)
        return [
            imports_t,
            _sum(gid, v, size),
            _sum(gid, v_q, size),
            numerator,
            numerator_all,
            missing_t,
            missing_all_t,
            selected_t,
        ]

    direct, rest_unit, rest_member = grid.passes()
    unit = direct[imp]
    reached = unit >= 0
    parts = [
        unit_sums(None, unit)
        if reached.all()
        else unit_sums(np.flatnonzero(reached), unit[reached])
    ]
    if len(rest_unit):
        in_rest = np.zeros(n_c, dtype=bool)
        in_rest[rest_member] = True
        candidates = np.flatnonzero(in_rest[imp])  # rows of the other units' members
        rows, unit2 = _expand(rest_unit, rest_member, imp[candidates], n_c)
        parts.append(unit_sums(candidates[rows], unit2))
    # every unit is summed in one part only, so adding the parts adds zeros
    sums = parts[0]
    for part in parts[1:]:
        sums = [a + b for a, b in zip(sums, part, strict=True)]
    return _TradeSums(*sums)


@dataclass
class _ProductionSums:
    hhi: FloatArray  # per material x year
    domestic_t: FloatArray  # per material x unit x year
    domestic_bad: npt.NDArray[np.bool_]  # a member's production is not in tonnes


def _production_sums(production: pd.DataFrame, grid: _Grid, country: _Factor) -> _ProductionSums:
    """World HHI per material x year and domestic production per unit."""
    n_m, n_u, n_y = len(grid.materials), len(grid.units), len(grid.years)
    mat = grid.text_codes(production["material"], pd.Index(grid.materials, dtype=object))
    yr = grid.year_codes(production["year"])
    ctry = grid.text_codes(country, grid.countries)
    keep = (mat >= 0) & (yr >= 0)
    q_t = production["quantity_t"].to_numpy(dtype=np.float64, na_value=np.nan)
    if "quantity" in production.columns:
        q_raw = production["quantity"].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        q_raw = q_t
    mat, yr, ctry, q_t, q_raw = (a[keep] for a in (mat, yr, ctry, q_t, q_raw))
    my = mat * n_y + yr
    size_my = n_m * n_y
    # HHI basis: tonnes where every producer of the material-year has tonnes, else the
    # quantity as published (shares do not depend on the unit; e.g. natural gas in Mio m3)
    n_rows = np.bincount(my, minlength=size_my)
    n_t = np.bincount(my, weights=(~np.isnan(q_t)).astype(np.float64), minlength=size_my)
    use_t = n_t[my] == n_rows[my]
    basis = np.where(use_t, q_t, q_raw)
    basis0 = np.nan_to_num(basis)
    total = _sum(my, basis0, size_my)
    squares = _sum(my, basis0 * basis0, size_my)
    hhi = _safe_divide(squares, total * total)

    rows, unit = grid.expand(ctry)
    gid = (mat[rows] * n_u + unit) * n_y + yr[rows]
    q_t_rows = q_t[rows]
    domestic = _sum(gid, np.nan_to_num(q_t_rows), grid.size)
    bad_rows = np.isnan(q_t_rows) & ~np.isnan(q_raw[rows]) & (q_raw[rows] > 0)
    bad = _sum(gid, bad_rows.astype(np.float64), grid.size) > 0
    return _ProductionSums(hhi=hhi, domestic_t=domestic, domestic_bad=bad)


def _governance_matrix(governance: pd.DataFrame, grid: _Grid, country: _Factor) -> FloatArray:
    g = np.full((len(grid.countries), len(grid.years)), np.nan)
    ctry = grid.text_codes(country, grid.countries)
    yr = grid.year_codes(governance["year"])
    val = governance["g"].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = (ctry >= 0) & (yr >= 0)
    g[ctry[ok], yr[ok]] = val[ok]
    return g


def _assessable(
    frame: pd.DataFrame, grid: _Grid, material: _Factor | None = None
) -> npt.NDArray[np.bool_]:
    n_y = len(grid.years)
    mat = grid.text_codes(
        frame["material"] if material is None else material,
        pd.Index(grid.materials, dtype=object),
    )
    yr = grid.year_codes(frame["year"])
    ok = (mat >= 0) & (yr >= 0)
    counts = np.bincount(mat[ok] * n_y + yr[ok], minlength=len(grid.materials) * n_y)
    return counts > 0


def _text_column(labels: Sequence[object], codes: npt.NDArray[np.intp]) -> npt.ArrayLike:
    """``labels[codes]`` as the text column pandas would infer from Python strings.

    Built from the few labels (Arrow ``take`` for pandas' Arrow-backed ``str``, an object
    array for pandas 2's ``object``) instead of inferring the type of every row.
    """
    obj = np.asarray(list(labels), dtype=object)
    dtype = pd.Series(obj[:1] if len(obj) else np.asarray(["x"], dtype=object)).dtype
    if dtype == np.dtype(object):
        return obj[codes]
    if getattr(dtype, "storage", None) == "pyarrow":
        return pd.array(pa.array(obj, type=pa.large_string()).take(pa.array(codes)), dtype=dtype)
    return pd.Categorical.from_codes(codes, categories=pd.Index(obj, dtype=object)).astype(dtype)


def _check_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        from critmat.params import ParameterError

        raise ParameterError(
            f"{name} frame lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}"
        )


def geopolrisk_cube(
    trade: pd.DataFrame,
    production: pd.DataFrame,
    governance: pd.DataFrame,
    units: Mapping[str, Sequence[str]] | pd.DataFrame,
    *,
    materials: Sequence[str],
    years: Sequence[int],
    assessable: pd.DataFrame | None = None,
    exporters: Sequence[str] | None = None,
    intra_region: IntraRegion = "zero_risk",
    missing_governance: MissingGovernance = "nan",
    fill_value: float = 0.5,
    min_coverage: float = 0.99,
    price_basis: PriceBasis = "reported_quantity",
    reference_material: str = "copper",
    reference_trade: pd.DataFrame | None = None,
    copper_cf: float = CU_CF_REFERENCE,
) -> pd.DataFrame:
    """GeoPolRisk of every material x importer unit x year in one vectorised pass.

    Parameters
    ----------
    trade
        Attributed bilateral trade: ``material, year, exporter, importer, quantity_t,
        value_kusd`` (a flow whose HS code maps to two materials appears once per material;
        ``quantity_t`` NaN where not reported).
    production
        ``material, country, year, quantity_t`` (tonnes; NaN for non-mass units) and
        optionally ``quantity`` (as published, used for the HHI when a material-year has no
        tonnes, e.g. natural gas).
    governance
        ``country, year, g``: political instability of exporters (normalised WGI PV, 0-1).
    units
        Importer units: ``{unit: [member ISO-3, ...]}`` or a frame ``unit, member``. A country
        is its own unit; a group (EU27, a user group) is one importing economy.
    materials, years
        The result grid: one row per material x unit x year, in this order.
    assessable
        ``material, year`` pairs with any trade at all (world-wide); others are
        ``not_assessable``. Default: the pairs present in ``trade``.
    exporters
        Restrict the numerator to imports from these exporters (ISO-3): the result is then
        their contribution to the import risk and score (F and p unchanged, so the
        contributions of a partition of exporters add up to the total). ``None``: all.
    intra_region
        ``zero_risk`` (reference implementation and paper): imports of a group from its own
        members stay in F with g = 0. ``exclude``: they are domestic and left out of F,
        numerator and price.
    missing_governance
        ``nan``: a unit importing from an exporter without governance value gets NaN import
        risk and score, status ``missing_governance``. ``fill``: such exporters get
        ``fill_value`` (status ``governance_filled``). ``exclude``: imports from such
        exporters are left out of both the numerator and F when they are at most
        ``1 - min_coverage`` of the import tonnage (status ``governance_partial``, see
        ``governance_coverage``); above that the result is NaN (``missing_governance``).
    min_coverage
        With ``exclude``: the least share of import tonnage with a governance value for a
        result to be computed.
    fill_value
        Instability given to exporters without governance value when filling (the reference
        implementation uses 0.5).
    price_basis
        ``reported_quantity``: price = value / quantity of the flows that report a quantity.
        ``all_value``: all values over reported quantities (the reference implementation,
        which counts a flow without quantity as 0 t but keeps its value).
    reference_material
        Material whose midpoint normalises the paper's CF (copper).
    reference_trade
        Attributed trade of the reference material if it differs from its rows in
        ``trade`` (e.g. when ``trade`` was restricted to one stage). Default: from ``trade``.
    copper_cf
        Constant of the reference implementation's CF.

    Returns
    -------
    pandas.DataFrame
        :data:`DETAIL_COLUMNS`: ``material, importer, year, hhi, import_risk, score, price,
        midpoint, cf, cf_paper, numerator, imports_t, imports_kusd, domestic_production_t,
        governance_coverage, quantity_coverage, status`` with ``importer`` = the unit name
        and ``status`` one of :data:`STATUSES`. ``cf`` is the reference implementation's CF,
        ``cf_paper`` the paper's. ``governance_coverage`` is the share of the (selected)
        import tonnage whose exporter has a governance value (intra-group flows count as
        covered); ``quantity_coverage`` the share of import value that reports a quantity.

    Notes
    -----
    Trade quantities are gross tonnes of the HS products while production counts the World
    Mining Data basis of the material (metal content, REO, Li2O, ...): the method adds
    them as published (p + F), as the paper and the reference implementation do.
    """
    _check_columns(
        trade, "trade", ["material", "year", "exporter", "importer", "quantity_t", "value_kusd"]
    )
    _check_columns(production, "production", ["material", "country", "year", "quantity_t"])
    _check_columns(governance, "governance", ["country", "year", "g"])
    from critmat.params import ParameterError

    for name, value, valid in (
        ("intra_region", intra_region, ("zero_risk", "exclude")),
        ("missing_governance", missing_governance, ("nan", "fill", "exclude")),
        ("price_basis", price_basis, ("reported_quantity", "all_value")),
    ):
        if value not in valid:
            raise ParameterError(
                f"{name}={value!r} is not valid; expected one of "
                f"{', '.join(repr(v) for v in valid)}"
            )
    if not 0.0 < float(min_coverage) <= 1.0:
        raise ParameterError(
            f"min_coverage={min_coverage!r} is not a share; expected a number in (0, 1]"
        )
    if not 0.0 <= float(fill_value) <= 1.0:
        raise ParameterError(
            f"fill_value={fill_value!r} is not an instability; expected a number in [0, 1]"
        )

    mem_units, mem_members = _membership(units)
    out_materials = list(dict.fromkeys(materials))
    grid_materials = out_materials + (
        [reference_material] if reference_material not in out_materials else []
    )
    unit_names = list(dict.fromkeys(mem_units))
    year_list = sorted({int(y) for y in years})
    # text columns as integer codes, each by one hash pass over its rows
    trade_cols = _trade_columns(trade)
    ref_cols = None
    if reference_trade is not None:
        ref_cols = _trade_columns(
            reference_trade[reference_trade["material"] == reference_material]
        )
    prod_country = _factorize(production["country"])
    gov_country = _factorize(governance["country"])
    factors = [trade_cols.importer, trade_cols.exporter, prod_country, gov_country]
    if ref_cols is not None:  # the reference material's partners count as well
        factors += [ref_cols.importer, ref_cols.exporter]
    distinct = dict.fromkeys([*mem_members, *(v for f in factors for v in f.uniques)])
    if any(f.has_na for f in factors):
        distinct.setdefault(None)
    countries = pd.Index(list(distinct), dtype=object)
    unit_index = pd.Index(unit_names, dtype=object)
    grid = _Grid(
        grid_materials,
        unit_names,
        year_list,
        countries,
        np.asarray(unit_index.get_indexer(pd.Index(mem_units, dtype=object)), dtype=np.int64),
        np.asarray(countries.get_indexer(pd.Index(mem_members, dtype=object)), dtype=np.int64),
    )
    g_matrix = _governance_matrix(governance, grid, gov_country)
    if exporters is None:
        selected = np.ones(len(countries), dtype=bool)
    else:
        selected = countries.isin(list(exporters))
    fill = float(fill_value) if missing_governance == "fill" else None

    ts = _trade_sums(trade_cols, grid, g_matrix, selected, intra_region=intra_region, fill=fill)
    if ref_cols is not None:
        ref = _trade_sums(
            ref_cols,
            grid,
            g_matrix,
            np.ones(len(countries), dtype=bool),
            intra_region=intra_region,
            fill=fill,
        )
    else:
        ref = ts
    ps = _production_sums(production, grid, prod_country)
    if assessable is None:
        traded = _assessable(trade, grid, trade_cols.material)
    else:
        traded = _assessable(assessable, grid)

    n_m, n_u, n_y = len(grid_materials), len(unit_names), len(year_list)
    # broadcast material x year arrays over units
    hhi = ps.hhi.reshape(n_m, 1, n_y).repeat(n_u, axis=1).ravel()
    traded_c = traded.reshape(n_m, 1, n_y).repeat(n_u, axis=1).ravel()

    p = np.where(ps.domestic_bad, np.nan, ps.domestic_t)
    p = np.where(np.isnan(hhi), np.nan, p)  # no production data: p unknown as well
    nan_missing = missing_governance == "nan"
    exclude = missing_governance == "exclude"

    def _values(
        s: _TradeSums, numerator: FloatArray, missing_t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        if exclude:  # drop flows without g from numerator and F if they are few enough
            known = _safe_divide(s.imports_t - s.missing_all_t, s.imports_t)
            num = np.where((s.missing_all_t > 0) & ~(known >= min_coverage), np.nan, numerator)
            total = s.imports_t - s.missing_all_t
        else:
            num = np.where(nan_missing & (missing_t > 0), np.nan, numerator)
            total = s.imports_t
        no_qty = (s.imports_t == 0) & (s.value > 0)
        wta = np.where(no_qty, np.nan, import_risk(num, total, p))
        price_value = s.value if price_basis == "all_value" else s.value_with_q
        price = unit_price(price_value, s.imports_t)
        return num, wta, price

    num, wta, price = _values(ts, ts.numerator, ts.missing_t)
    wta = np.where(traded_c, wta, np.nan)
    price = np.where(traded_c, price, np.nan)
    sc = hhi * wta
    mid = midpoint(sc, price)
    cf = cf_reference(sc, price, copper_cf)

    # copper's full midpoint (all exporters) for the paper's CF
    r = grid_materials.index(reference_material)
    _, wta_ref, price_ref = _values(ref, ref.numerator_all, ref.missing_all_t)
    sl = slice(r * n_u * n_y, (r + 1) * n_u * n_y)
    traded_ref = traded_c[sl]
    if ref_cols is not None:
        own = _assessable(ref_cols.frame, grid, ref_cols.material)
        traded_ref = traded_ref | own.reshape(n_m, 1, n_y).repeat(n_u, axis=1).ravel()[sl]
    mid_ref = hhi[sl] * np.where(traded_ref, wta_ref[sl] * price_ref[sl], np.nan)
    cf_p = cf_paper(mid, np.tile(mid_ref, n_m))

    covered = ts.selected_t - ts.missing_t
    coverage = _safe_divide(covered, ts.selected_t)
    q_coverage = _safe_divide(ts.value_with_q, ts.value)
    code = {s: i for i, s in enumerate(_STATUS_ORDER)}
    if exclude:
        known_all = _safe_divide(ts.imports_t - ts.missing_all_t, ts.imports_t)
        gov_code: npt.NDArray[np.int64] | int = np.where(
            known_all >= min_coverage,
            code[Status.GOVERNANCE_PARTIAL],
            code[Status.MISSING_GOVERNANCE],
        )
        gov_flag = ts.missing_all_t > 0
    else:
        gov_code = code[Status.MISSING_GOVERNANCE if nan_missing else Status.GOVERNANCE_FILLED]
        gov_flag = ts.missing_t > 0
    status = np.select(
        [
            ~traded_c,
            np.isnan(hhi),
            (ts.imports_t == 0) & (ts.value > 0),
            ts.imports_t == 0,
            np.isnan(p),
            gov_flag,
        ],
        [
            code[Status.NOT_ASSESSABLE],
            code[Status.NO_PRODUCTION_DATA],
            code[Status.NO_IMPORT_QUANTITY],
            code[Status.NO_IMPORTS],
            code[Status.PRODUCTION_NOT_IN_TONNES],
            gov_code,
        ],
        default=code[Status.OK],
    )

    n_out = len(out_materials)
    keep = slice(0, n_out * n_u * n_y)
    traded_out = traded_c[keep]

    def known(values: FloatArray) -> FloatArray:
        return np.where(traded_out, values[keep], np.nan)

    return pd.DataFrame(
        {
            "material": _text_column(out_materials, np.repeat(np.arange(n_out), n_u * n_y)),
            "importer": _text_column(unit_names, np.tile(np.repeat(np.arange(n_u), n_y), n_out)),
            "year": np.tile(np.asarray(year_list, dtype=np.int64), n_out * n_u),
            "hhi": hhi[keep],
            "import_risk": wta[keep],
            "score": sc[keep],
            "price": price[keep],
            "midpoint": mid[keep],
            "cf": cf[keep],
            "cf_paper": cf_p[keep],
            "numerator": known(num),
            "imports_t": known(ts.imports_t),
            "imports_kusd": known(ts.value),
            "domestic_production_t": p[keep],
            "governance_coverage": known(coverage),
            "quantity_coverage": known(q_coverage),
            "status": _text_column([s.value for s in _STATUS_ORDER], status[keep]),
        }
    )
