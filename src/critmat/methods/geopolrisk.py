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
from typing import Final, Literal

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


def _membership(units: Mapping[str, Sequence[str]] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(units, pd.DataFrame):
        frame = units.loc[:, ["unit", "member"]]
    else:
        frame = pd.DataFrame(
            [(u, m) for u, ms in units.items() for m in dict.fromkeys(ms)],
            columns=["unit", "member"],
        )
    return frame.astype({"unit": object, "member": object}).drop_duplicates()


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

    def expand(
        self, member_codes: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Repeat each row once per unit its country belongs to.

        Returns the row index and the unit code of every expanded row.
        """
        order = np.argsort(self.mem_member, kind="stable")
        mm, mu = self.mem_member[order], self.mem_unit[order]
        counts = np.bincount(mm, minlength=len(self.countries))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        ok = member_codes >= 0
        per_row = np.where(ok, counts[np.where(ok, member_codes, 0)], 0)
        rows = np.repeat(np.arange(len(member_codes)), per_row)
        first = np.repeat(np.cumsum(per_row) - per_row, per_row)
        offset = np.arange(len(rows)) - first
        unit = mu[starts[member_codes[rows]] + offset]
        return rows, unit.astype(np.int64)


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
    return np.bincount(group, weights=weights, minlength=size).astype(np.float64)


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


def _trade_sums(
    trade: pd.DataFrame,
    grid: _Grid,
    g_matrix: FloatArray,
    selected: npt.NDArray[np.bool_],
    *,
    intra_region: IntraRegion,
    fill: float | None,
) -> _TradeSums:
    """Sum the import flows of every unit into the material x unit x year grid."""
    n_units, n_years = len(grid.units), len(grid.years)
    mat = grid.codes(trade["material"], grid.materials)
    yr = grid.codes(trade["year"].astype("int64"), pd.Index(grid.years))
    imp = grid.codes(trade["importer"], grid.countries)
    exp = grid.codes(trade["exporter"], grid.countries)
    keep = (mat >= 0) & (yr >= 0) & (imp >= 0) & (exp >= 0)
    q_all = trade["quantity_t"].to_numpy(dtype=np.float64, na_value=np.nan)
    v_all = trade["value_kusd"].to_numpy(dtype=np.float64, na_value=np.nan)
    mat, yr, imp, exp, q_all, v_all = (a[keep] for a in (mat, yr, imp, exp, q_all, v_all))

    rows, unit = grid.expand(imp)
    mat, yr, exp = mat[rows], yr[rows], exp[rows]
    q, v = q_all[rows], np.nan_to_num(v_all[rows])
    n_c = len(grid.countries)
    is_member = np.zeros((len(grid.units), n_c), dtype=bool)  # unit x country membership
    ok = (grid.mem_unit >= 0) & (grid.mem_member >= 0)
    is_member[grid.mem_unit[ok], grid.mem_member[ok]] = True
    intra = is_member[unit, exp]
    if intra_region == "exclude":
        outside = ~intra
        mat, yr, exp, unit = mat[outside], yr[outside], exp[outside], unit[outside]
        q, v, intra = q[outside], v[outside], intra[outside]
    has_q = ~np.isnan(q)
    q0 = np.where(has_q, q, 0.0)
    g = g_matrix[exp, yr]
    missing = np.isnan(g) & ~intra & (q0 > 0)
    g_eff = np.where(intra, 0.0, np.where(np.isnan(g), 0.0 if fill is None else fill, g))
    sel = selected[exp]
    gid = (mat * n_units + unit) * n_years + yr
    size = grid.size
    gq = g_eff * q0
    return _TradeSums(
        imports_t=_sum(gid, q0, size),
        value=_sum(gid, v, size),
        value_with_q=_sum(gid, np.where(has_q, v, 0.0), size),
        numerator=_sum(gid, np.where(sel, gq, 0.0), size),
        numerator_all=_sum(gid, gq, size),
        missing_t=_sum(gid, np.where(sel & missing, q0, 0.0), size),
        missing_all_t=_sum(gid, np.where(missing, q0, 0.0), size),
        selected_t=_sum(gid, np.where(sel, q0, 0.0), size),
    )


@dataclass
class _ProductionSums:
    hhi: FloatArray  # per material x year
    domestic_t: FloatArray  # per material x unit x year
    domestic_bad: npt.NDArray[np.bool_]  # a member's production is not in tonnes


def _production_sums(production: pd.DataFrame, grid: _Grid) -> _ProductionSums:
    """World HHI per material x year and domestic production per unit."""
    n_m, n_u, n_y = len(grid.materials), len(grid.units), len(grid.years)
    mat = grid.codes(production["material"], grid.materials)
    yr = grid.codes(production["year"].astype("int64"), pd.Index(grid.years))
    ctry = grid.codes(production["country"], grid.countries)
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


def _governance_matrix(governance: pd.DataFrame, grid: _Grid) -> FloatArray:
    g = np.full((len(grid.countries), len(grid.years)), np.nan)
    ctry = grid.codes(governance["country"], grid.countries)
    yr = grid.codes(governance["year"].astype("int64"), pd.Index(grid.years))
    val = governance["g"].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = (ctry >= 0) & (yr >= 0)
    g[ctry[ok], yr[ok]] = val[ok]
    return g


def _assessable(frame: pd.DataFrame, grid: _Grid) -> npt.NDArray[np.bool_]:
    n_y = len(grid.years)
    mat = grid.codes(frame["material"], grid.materials)
    yr = grid.codes(frame["year"].astype("int64"), pd.Index(grid.years))
    ok = (mat >= 0) & (yr >= 0)
    counts = np.bincount(mat[ok] * n_y + yr[ok], minlength=len(grid.materials) * n_y)
    return counts > 0


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

    members = _membership(units)
    out_materials = list(dict.fromkeys(materials))
    grid_materials = out_materials + (
        [reference_material] if reference_material not in out_materials else []
    )
    unit_names = list(dict.fromkeys(members["unit"]))
    year_list = sorted({int(y) for y in years})
    countries = _unique_text(
        [
            members["member"],
            trade["importer"],
            trade["exporter"],
            production["country"],
            governance["country"],
        ]
    )
    unit_index = pd.Index(unit_names)
    grid = _Grid(
        grid_materials,
        unit_names,
        year_list,
        countries,
        np.asarray(unit_index.get_indexer(members["unit"].to_numpy()), dtype=np.int64),
        np.asarray(countries.get_indexer(members["member"].to_numpy()), dtype=np.int64),
    )
    g_matrix = _governance_matrix(governance, grid)
    if exporters is None:
        selected = np.ones(len(countries), dtype=bool)
    else:
        selected = countries.isin(list(exporters))
    fill = float(fill_value) if missing_governance == "fill" else None

    ts = _trade_sums(trade, grid, g_matrix, selected, intra_region=intra_region, fill=fill)
    if reference_trade is not None:
        ref = _trade_sums(
            reference_trade[reference_trade["material"] == reference_material],
            grid,
            g_matrix,
            np.ones(len(countries), dtype=bool),
            intra_region=intra_region,
            fill=fill,
        )
    else:
        ref = ts
    ps = _production_sums(production, grid)
    traded = _assessable(trade if assessable is None else assessable, grid)

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
    if reference_trade is not None:
        own = _assessable(reference_trade[reference_trade["material"] == reference_material], grid)
        traded_ref = traded_ref | own.reshape(n_m, 1, n_y).repeat(n_u, axis=1).ravel()[sl]
    mid_ref = hhi[sl] * np.where(traded_ref, wta_ref[sl] * price_ref[sl], np.nan)
    cf_p = cf_paper(mid, np.tile(mid_ref, n_m))

    covered = ts.selected_t - ts.missing_t
    coverage = _safe_divide(covered, ts.selected_t)
    q_coverage = _safe_divide(ts.value_with_q, ts.value)
    if exclude:
        known_all = _safe_divide(ts.imports_t - ts.missing_all_t, ts.imports_t)
        gov_label = np.where(
            known_all >= min_coverage,
            Status.GOVERNANCE_PARTIAL.value,
            Status.MISSING_GOVERNANCE.value,
        )
        gov_flag = ts.missing_all_t > 0
    else:
        gov_label = np.full(
            grid.size,
            (Status.MISSING_GOVERNANCE if nan_missing else Status.GOVERNANCE_FILLED).value,
            dtype=object,
        )
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
            Status.NOT_ASSESSABLE.value,
            Status.NO_PRODUCTION_DATA.value,
            Status.NO_IMPORT_QUANTITY.value,
            Status.NO_IMPORTS.value,
            Status.PRODUCTION_NOT_IN_TONNES.value,
            gov_label,
        ],
        default=Status.OK.value,
    )

    keep = slice(0, len(out_materials) * n_u * n_y)
    return pd.DataFrame(
        {
            "material": np.repeat(np.asarray(out_materials, dtype=object), n_u * n_y),
            "importer": np.tile(
                np.repeat(np.asarray(unit_names, dtype=object), n_y), len(out_materials)
            ),
            "year": np.tile(np.asarray(year_list, dtype=np.int64), len(out_materials) * n_u),
            "hhi": hhi[keep],
            "import_risk": wta[keep],
            "score": sc[keep],
            "price": price[keep],
            "midpoint": mid[keep],
            "cf": cf[keep],
            "cf_paper": cf_p[keep],
            "numerator": np.where(traded_c, num, np.nan)[keep],
            "imports_t": np.where(traded_c, ts.imports_t, np.nan)[keep],
            "imports_kusd": np.where(traded_c, ts.value, np.nan)[keep],
            "domestic_production_t": p[keep],
            "governance_coverage": np.where(traded_c, coverage, np.nan)[keep],
            "quantity_coverage": np.where(traded_c, q_coverage, np.nan)[keep],
            "status": status[keep],
        }
    )
