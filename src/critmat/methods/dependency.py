"""Import dependency: import shares by origin, import HHI, net import reliance (METHODS.md §0.2).

Importers are *units*: a single economy or a group treated as one economy (EU27, NATO, a
user-defined group). For a group, flows between its members are domestic: they are left out
of imports and exports. All functions are pure and vectorised (merges and one groupby over
every material x importer x year at once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from critmat.methods.concentration import concentration
from critmat.vocab import DependencyStatus, NirStatus

__all__ = [
    "attribute_trade",
    "import_dependency",
    "net_import_reliance",
    "unit_flows",
    "units_frame",
]


def units_frame(units: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Return the membership table ``(unit, member)`` of importer units.

    Examples
    --------
    >>> units_frame({"DEU": ["DEU"], "G2": ["FRA", "ITA"]}).to_dict("list")
    {'unit': ['DEU', 'G2', 'G2'], 'member': ['DEU', 'FRA', 'ITA']}
    """
    rows = [(u, m) for u, members in units.items() for m in dict.fromkeys(members)]
    return pd.DataFrame(rows, columns=["unit", "member"])


def attribute_trade(
    trade: pd.DataFrame, hs_codes: pd.DataFrame, *, stage: str | None = None
) -> pd.DataFrame:
    """Attach ``material`` and ``stage`` to trade rows through the HS-code mapping.

    A code mapped to two materials yields one row per material. With ``stage`` only the codes
    of that stage are kept.
    """
    codes = hs_codes[["hs6", "material", "stage"]]
    if stage is not None:
        codes = codes[codes["stage"] == stage]
    return trade.merge(codes, on="hs6", how="inner")


def unit_flows(
    trade_m: pd.DataFrame,
    units: pd.DataFrame,
    *,
    direction: str = "imports",
    keys: tuple[str, ...] = ("material", "year"),
) -> pd.DataFrame:
    """Aggregate attributed trade to flows of each unit with partners outside it.

    Parameters
    ----------
    trade_m
        Trade with ``material, year, exporter, importer, quantity_t, value_kusd``.
    units
        Membership table from :func:`units_frame`.
    direction
        ``imports`` (partners are exporters into the unit) or ``exports`` (partners are
        importers from the unit).
    keys
        Further grouping columns kept in the result (e.g. ``material, stage, year``).

    Returns
    -------
    pandas.DataFrame
        ``keys..., unit, partner, quantity_t, value_kusd, value_with_quantity_kusd``;
        intra-unit flows are excluded (domestic).
        ``value_with_quantity_kusd`` sums the value of flows that report a quantity only (for
        unit values in USD/kg that do not mix flows without quantity).
    """
    own, other = ("importer", "exporter") if direction == "imports" else ("exporter", "importer")
    # the inner join keeps only the units' flows: filter first (a vectorised isin) so that
    # the merge hashes those rows only, not every flow in the world
    trade_m = trade_m[trade_m[own].isin(units["member"])]
    m = trade_m.merge(units, left_on=own, right_on="member", how="inner")
    intra = (
        m.merge(
            units,
            left_on=["unit", other],
            right_on=["unit", "member"],
            how="left",
            indicator=True,
            suffixes=("", "_p"),
        )["_merge"]
        .eq("both")
        .to_numpy()
    )
    m = m.loc[~intra]
    m = m.assign(value_with_quantity_kusd=m["value_kusd"].where(m["quantity_t"].notna()))
    return (
        m.groupby([*keys, "unit", other], observed=True, sort=False)[
            ["quantity_t", "value_kusd", "value_with_quantity_kusd"]
        ]
        .sum(min_count=1)
        .reset_index()
        .rename(columns={other: "partner"})
    )


def import_dependency(
    flows: pd.DataFrame,
    *,
    country_sets: Mapping[str, Sequence[str]] | None = None,
    keys: tuple[str, ...] = ("material", "year"),
) -> pd.DataFrame:
    """Import shares by origin summarised per material x importer x year.

    Parameters
    ----------
    flows
        Output of :func:`unit_flows` with ``direction="imports"``.
    country_sets
        Named sets of origins whose combined share of imports is reported
        (``<name>_share``), e.g. ``{"china": ["CHN"]}``.
    keys
        Grouping columns besides the importer.

    Returns
    -------
    pandas.DataFrame
        ``material, year, importer, imports_t, imports_kusd, n_origins, import_hhi,
        top_origin, top_origin_share, top3_share, <set>_share..., status``. Shares are of
        import quantity (tonnes).
    """
    by = [*keys, "unit"]
    f = flows[flows["quantity_t"].fillna(0) > 0]
    conc = concentration(f, by=by, value="quantity_t", country="partner", country_sets=country_sets)
    value = (
        flows.groupby(by, observed=True)["value_kusd"].sum().rename("imports_kusd").reset_index()
    )
    out = conc.merge(value, on=by, how="outer")
    out = out.rename(
        columns={
            "unit": "importer",
            "total": "imports_t",
            "n_countries": "n_origins",
            "hhi": "import_hhi",
            "top1_country": "top_origin",
            "top1_share": "top_origin_share",
        }
    )
    out["status"] = np.where(
        out["imports_t"].fillna(0) > 0, DependencyStatus.OK.value, DependencyStatus.NO_IMPORTS.value
    )
    out["imports_t"] = out["imports_t"].fillna(0.0)
    out = out.drop(columns=["hhi_pct"])
    first = [
        *keys,
        "importer",
        "imports_t",
        "imports_kusd",
        "n_origins",
        "import_hhi",
        "top_origin",
        "top_origin_share",
    ]
    return out[first + [c for c in out.columns if c not in first]]


def net_import_reliance(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    production: pd.DataFrame,
    units: pd.DataFrame,
    *,
    producing_materials: Sequence[str],
    keys: tuple[str, ...] = ("material", "year"),
) -> pd.DataFrame:
    """Net import reliance ``(I - E) / (P + I - E)`` per material x unit x year.

    Parameters
    ----------
    imports, exports
        Unit flows (:func:`unit_flows`) of the stage's HS codes, both directions.
    production
        Production at the same stage: ``material, country, year, quantity_t``.
    units
        Membership table.
    producing_materials
        Materials (per stage) for which production data exist at all; for the others the
        result is NaN with status ``no_production_data`` instead of assuming no production.
    keys
        Grouping columns besides the importer (production must carry them too).

    Returns
    -------
    pandas.DataFrame
        ``material, year, importer, imports_t, exports_t, production_t,
        apparent_consumption_t, nir, net_exporter, status``. Net exporters get ``nir = 0``
        and ``net_exporter = True`` (USGS "E"); a unit that imports as much as it
        exports has ``nir = 0``; status is ``ok``, ``net_exporter``,
        ``no_consumption`` or ``no_production_data``.
    """
    by = [*keys, "unit"]
    imp = imports.groupby(by, observed=True)["quantity_t"].sum().rename("imports_t")
    exp = exports.groupby(by, observed=True)["quantity_t"].sum().rename("exports_t")
    prod = production.loc[:, [*keys, "country", "quantity_t"]].merge(
        units, left_on="country", right_on="member"
    )
    p = prod.groupby(by, observed=True)["quantity_t"].sum().rename("production_t")
    out = pd.concat([imp, exp, p], axis=1).reset_index()
    for c in ("imports_t", "exports_t", "production_t"):
        out[c] = out[c].fillna(0.0)
    net = out["imports_t"] - out["exports_t"]
    out["apparent_consumption_t"] = out["production_t"] + net
    has_prod = out["material"].isin(list(producing_materials)).to_numpy()
    consumption = out["apparent_consumption_t"].to_numpy()
    safe = np.where(consumption > 0, consumption, 1.0)
    nir = np.where(consumption > 0, np.maximum(net.to_numpy(), 0.0) / safe, np.nan)
    out["net_exporter"] = (net < 0) & (consumption > 0)
    out["nir"] = nir
    status = np.select(
        [~has_prod, consumption <= 0, out["net_exporter"].to_numpy()],
        [
            NirStatus.NO_PRODUCTION_DATA.value,
            NirStatus.NO_CONSUMPTION.value,
            NirStatus.NET_EXPORTER.value,
        ],
        default=NirStatus.OK.value,
    )
    out["status"] = status
    out.loc[~has_prod, ["nir", "production_t", "apparent_consumption_t"]] = np.nan
    out.loc[~has_prod, "net_exporter"] = False
    return out.rename(columns={"unit": "importer"})
