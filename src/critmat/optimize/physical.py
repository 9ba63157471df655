"""The physical baseline of a decision: EU demand in tonnes and a price per tonne in euros.

A stock, a supplier mix or a project is sized in tonnes and paid in euros, so every
material a decision covers needs

* **EU annual demand in tonnes per stage**: the user's value where given; else EU27
  apparent consumption (World Mining Data production + BACI extra-EU imports - exports,
  the scenario baseline's computation, mean of the latest five years with data) at the
  extraction stage; else a status (``no_tonnage_at_stage`` at processing, where World
  Mining Data has no production; ``no_consumption_data`` at extraction without HS codes or
  production). Never a silent 0.
* **A price per tonne with its source and year**: the user's value; else a USGS Mineral
  Commodity Summaries 2026 price series (``prices``: the series of the stage's product
  class, a European market where USGS quotes one, the price year); else the unit value of
  the EU27's extra-EU imports in BACI at that stage (value / quantity of the price year);
  else ``no_price``.
* **A currency convention**: euros of the price year, converted with the ECB's annual
  average reference rate of that year (``fx_rates``; USD per EUR), or the rate the user
  states (``usd_per_eur=``); the rate and its source are columns of the result.

:func:`physical_baseline` returns the table; :func:`decision_parameters` merges it with a
user's parameter table into the :class:`~critmat.optimize.parameters.MaterialParameters`
the LPs take, and stops with :class:`DecisionInputError` (every material without a price,
with its status) rather than price a tonne at 0.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat import units
from critmat.errors import CritmatError
from critmat.provenance import attach
from critmat.vocab import DecisionInputStatus, PhysicalDemandStatus, PriceStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "DecisionInputError",
    "decision_parameters",
    "fx_rate",
    "physical_baseline",
]

STAGES = ("extraction", "processing")

#: USGS product classes that are traded at the extraction stage (ores and concentrates).
_EXTRACTION_PRODUCTS = re.compile(r"mineral|concentrate|ore\b", re.IGNORECASE)
#: Indicator words of a European market quote.
_EUROPE = re.compile(r"europe|rotterdam", re.IGNORECASE)

FX_SOURCE = "ecb_eurofxref"
#: Sources of EU27 apparent consumption (production and trade).
_AC_SOURCES = {"wmd_bmf", "baci_hs92_v202401b"}


class DecisionInputError(CritmatError, ValueError):
    """A decision needs tonnes or a price that neither the user nor the data give.

    Attributes
    ----------
    missing
        ``{material: status}`` of every material that stops the decision.
    """

    def __init__(self, message: str, missing: Mapping[str, str]) -> None:
        super().__init__(message)
        self.missing = dict(missing)


def fx_rate(kb: KnowledgeBase, year: int) -> tuple[float, str]:
    """The ECB annual average USD/EUR rate of ``year`` and its source id.

    Raises
    ------
    DecisionInputError
        For a year without a complete ECB year (with the years available).
    """
    fx = kb.table("fx_rates")
    row = fx[(fx["year"] == int(year)) & (fx["quote_currency"] == "USD")]
    if row.empty:
        years = sorted(int(y) for y in fx["year"])
        raise DecisionInputError(
            f"no ECB USD/EUR annual rate for {year} (available: {years[0]}-{years[-1]}); "
            "give --usd-per-eur",
            {},
        )
    return float(row["rate"].iloc[0]), str(row["source_id"].iloc[0])


def _price_table(kb: KnowledgeBase) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        p = kb.table("prices")
        cols = [
            "material",
            "indicator",
            "year",
            "estimated",
            "price_usd_t",
            "per_t_of",
            "product",
            "basis",
            "source_id",
        ]
        out = p[cols].copy()
        for c in ("material", "indicator", "per_t_of", "product", "basis", "source_id"):
            out[c] = out[c].astype(object)
        out["price_usd_t"] = out["price_usd_t"].astype("float64")
        return out[np.isfinite(out["price_usd_t"]) & (out["price_usd_t"] > 0)]

    result: pd.DataFrame = kb.cache.get(("optimize.physical", "prices"), build)
    return result


def _price_rows(kb: KnowledgeBase) -> dict[str, list[dict[str, Any]]]:
    """The rows of :func:`_price_table` by material (table order), with flags.

    The flags :func:`_usgs_price` picks by are computed once per knowledge base on the
    whole table.
    """

    def build() -> dict[str, list[dict[str, Any]]]:
        p = _price_table(kb).copy()
        p["_extraction"] = p["product"].fillna("").astype(str).str.contains(_EXTRACTION_PRODUCTS)
        p["_actual"] = ~p["estimated"].astype(bool)
        p["_europe"] = p["indicator"].astype(str).str.contains(_EUROPE)
        out: dict[str, list[dict[str, Any]]] = {}
        cols = list(p.columns)  # tolist keeps the cells as they are (pd.NA stays pd.NA)
        for values in zip(*(p[c].tolist() for c in cols), strict=True):
            rec = dict(zip(cols, values, strict=True))
            out.setdefault(rec["material"], []).append(rec)
        return out

    result: dict[str, list[dict[str, Any]]] = kb.cache.get(
        ("optimize.physical", "price_rows"), build
    )
    return result


def _usgs_price(
    rows: list[dict[str, Any]] | None, stage: str, year: int | None
) -> dict[str, Any] | None:
    """The USGS price of one material (``rows``: its rows of :func:`_price_rows`).

    The series of the stage's product class (any series where the stage has none), the
    latest actual year (or ``year``), a European market quote where there is one.
    """
    if not rows:
        return None
    want = stage == "extraction"
    at_stage = [r for r in rows if bool(r["_extraction"]) == want]
    note = ""
    if not at_stage:
        at_stage = rows
        note = f"; no {stage}-stage series, the {rows[0]['product']} series stands in"
    if year is None:
        actual = [r for r in at_stage if r["_actual"]]
        pick = actual or at_stage
        year_ = int(max(r["year"] for r in pick))
    else:
        year_ = int(year)
    at_year = [r for r in at_stage if r["year"] == year_]
    if not at_year:
        return None
    europe = [r for r in at_year if r["_europe"]]
    row = (europe or at_year)[0]
    est = " (estimate)" if bool(row["estimated"]) else ""
    return {
        "price_usd_t": float(row["price_usd_t"]),
        "price_year": year_,
        "price_status": PriceStatus.USGS,
        "price_series": str(row["indicator"]),
        "price_basis": f"USGS MCS 2026, {row['basis']}, {year_}{est}, per tonne of "
        f"{row['per_t_of']}{note}",
        "price_source": str(row["source_id"]),
    }


def _baci_prices(
    kb: KnowledgeBase, materials: Sequence[str], stage: str, year: int | None
) -> dict[str, dict[str, Any] | None]:
    """:func:`_baci_price` of several materials at one stage, from one trade selection.

    Each unit value is kept in the knowledge base's cache (emptied when the data change):
    a decision asks for the same materials' prices more than once.
    """
    key = ("optimize.physical", "baci_price", stage, year)
    known: dict[str, dict[str, Any] | None] = kb.cache.get(key, dict)
    todo = [m for m in dict.fromkeys(materials) if m not in known]
    if todo:
        try:
            t = kb.trade(materials=todo, importers="EU27", stage=stage)
        except CritmatError:  # one material stops the selection: ask for each on its own
            found = {m: _baci_price(kb, m, stage, year) for m in todo}
        else:
            groups = dict(tuple(t.groupby("material", sort=False))) if len(t) else {}
            found = {m: _baci_unit_value(kb, groups.get(m), stage, year) for m in todo}
        known.update(found)
    return {m: copy.deepcopy(known[m]) for m in materials}


def _baci_price(
    kb: KnowledgeBase, material: str, stage: str, year: int | None
) -> dict[str, Any] | None:
    try:
        t = kb.trade(materials=material, importers="EU27", stage=stage)
    except CritmatError:
        return None
    return _baci_unit_value(kb, t, stage, year)


def _baci_unit_value(
    kb: KnowledgeBase, t: pd.DataFrame | None, stage: str, year: int | None
) -> dict[str, Any] | None:
    """Unit value of the EU27's extra-EU imports in ``t`` (one material's trade rows)."""
    if t is None or t.empty:
        return None
    members = set(kb.select.countries("EU27") or [])
    t = t[~t["exporter"].isin(members) & t["quantity_t"].notna() & (t["quantity_t"] > 0)]
    if t.empty:
        return None
    year_ = int(t["year"].max()) if year is None else int(year)
    t = t[t["year"] == year_]
    if t.empty:
        return None
    value = float(t["value_kusd"].astype("float64").sum()) * 1000.0
    qty = float(t["quantity_t"].astype("float64").sum())
    return {
        "price_usd_t": value / qty,
        "price_year": year_,
        "price_status": PriceStatus.BACI,
        "price_series": "EU27 extra-EU imports, unit value (HS codes of the stage)",
        "price_basis": f"BACI unit value of EU27 extra-EU imports at {stage}, {year_} "
        f"({qty:,.0f} t, {value / 1e6:,.1f} M USD)",
        "price_source": str(t["source_id"].iloc[0]),
    }


def physical_baseline(
    kb: KnowledgeBase,
    *,
    materials: Any = None,
    stage: str | Mapping[str, str] | None = None,
    annual_demand_t: Mapping[str, float] | None = None,
    price_eur_t: Mapping[str, float] | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
) -> pd.DataFrame:
    """EU annual demand (t), price (USD/t and EUR/t) with sources and a status per material.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials (names, ids, groups); default: the CRMA strategic and critical materials
        with a USGS price.
    stage
        ``extraction`` or ``processing``, one for all or per material; default both stages
        (two rows per material).
    annual_demand_t
        Your EU demand in tonnes per year per material (overrides apparent consumption).
    price_eur_t
        Your price per tonne in EUR per material (overrides USGS and BACI).
    price_year
        Year of the price (and of the euros); default the latest year USGS reports as
        actual, not estimated (2024 in MCS 2026).
    usd_per_eur
        USD per EUR; default the ECB annual average of the price year.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, annual_demand_t, demand_status, demand_basis, price_usd_t,
        price_eur_t, price_year, eur_year, usd_per_eur, fx_source, price_status,
        price_series, price_basis, price_source, status``.
    """
    from critmat.scenarios.baseline import eu_apparent_consumption

    if materials is None:
        ids = sorted(set(_price_table(kb)["material"]))
    else:
        ids = kb.resolve_materials(materials) or []

    def one(name: str) -> str:
        return (kb.resolve_materials(name) or [name])[0]

    user_t = {one(k): float(v) for k, v in (annual_demand_t or {}).items()}
    user_p = {one(k): float(v) for k, v in (price_eur_t or {}).items()}
    if isinstance(stage, Mapping):
        stages_of = {one(k): [str(v)] for k, v in stage.items()}
        default_stages: list[str] = list(STAGES)
    else:
        stages_of = {}
        default_stages = [str(stage)] if stage is not None else list(STAGES)
    for st in {s for v in stages_of.values() for s in v} | set(default_stages):
        if st not in STAGES:
            raise DecisionInputError(f"stage '{st}' is not one of {', '.join(STAGES)}", {})
    ac = eu_apparent_consumption(kb, list(ids))
    ac_map = {str(r.material): (float(r.annual_t), str(r.years)) for r in ac.itertuples()}
    fx_cache: dict[int, tuple[float, str]] = {}

    def fx(year: int) -> tuple[float, str]:
        if usd_per_eur is not None:
            return float(usd_per_eur), "user input (usd_per_eur)"
        if year not in fx_cache:
            fx_cache[year] = fx_rate(kb, year)
        return fx_cache[year]

    # prices looked up per material in the rows grouped once per knowledge base, and one BACI
    # selection per stage for the materials USGS does not price (not one query each)
    by_material = _price_rows(kb)
    wanted = [(m, st) for m in ids if m not in user_p for st in stages_of.get(m, default_stages)]
    usgs = {(m, st): _usgs_price(by_material.get(m), st, price_year) for m, st in wanted}
    baci: dict[tuple[str, str], dict[str, Any] | None] = {}
    for st in dict.fromkeys(st for _m, st in wanted):
        need = [m for m, s_ in wanted if s_ == st and usgs[(m, st)] is None]
        baci.update(((m, st), v) for m, v in _baci_prices(kb, need, st, price_year).items())
    rows = []
    for m in ids:
        for st in stages_of.get(m, default_stages):
            row: dict[str, Any] = {"material": m, "stage": st}
            if m in user_t:
                row.update(
                    annual_demand_t=user_t[m],
                    demand_status=PhysicalDemandStatus.USER,
                    demand_basis="user input (annual_demand_t)",
                )
            elif st == "extraction" and m in ac_map:
                value, years = ac_map[m]
                row.update(
                    annual_demand_t=value,
                    demand_status=PhysicalDemandStatus.APPARENT_CONSUMPTION,
                    demand_basis=f"EU27 apparent consumption {years} mean (World Mining Data "
                    "production + BACI extra-EU imports - exports; content basis per "
                    "materials.measured_as)",
                )
            elif st == "extraction":
                row.update(
                    annual_demand_t=np.nan,
                    demand_status=PhysicalDemandStatus.NO_CONSUMPTION_DATA,
                    demand_basis="no EU27 apparent consumption (missing production, HS codes "
                    "or a positive consumption): give annual_demand_t",
                )
            else:
                row.update(
                    annual_demand_t=np.nan,
                    demand_status=PhysicalDemandStatus.NO_TONNAGE_AT_STAGE,
                    demand_basis="no tonnage at processing (World Mining Data has no "
                    "processing production): give annual_demand_t",
                )
            if m in user_p:
                year_ = int(price_year) if price_year is not None else None
                row.update(
                    price_usd_t=np.nan,
                    price_eur_t=user_p[m],
                    price_year=year_,
                    price_status=PriceStatus.USER,
                    price_series="",
                    price_basis="user input (price_eur_t)",
                    price_source="user input",
                )
                row["eur_year"] = year_
                row["usd_per_eur"] = np.nan
                row["fx_source"] = ""
            else:
                found = usgs[(m, st)] or baci.get((m, st))
                if found is None:
                    row.update(
                        price_usd_t=np.nan,
                        price_eur_t=np.nan,
                        price_year=None,
                        eur_year=None,
                        usd_per_eur=np.nan,
                        fx_source="",
                        price_status=PriceStatus.NO_PRICE,
                        price_series="",
                        price_basis="no USGS price series and no BACI unit value for "
                        f"{st}"
                        + (f" in {price_year}" if price_year is not None else "")
                        + ": give price_eur_t",
                        price_source="",
                    )
                else:
                    rate, fx_src = fx(int(found["price_year"]))
                    row.update(found)
                    row.update(
                        price_eur_t=found["price_usd_t"] / rate,
                        eur_year=found["price_year"],
                        usd_per_eur=rate,
                        fx_source=fx_src,
                    )
            has_t = np.isfinite(row["annual_demand_t"])
            has_p = np.isfinite(row["price_eur_t"])
            row["status"] = (
                DecisionInputStatus.OK
                if has_t and has_p
                else DecisionInputStatus.NO_PRICE
                if has_t
                else DecisionInputStatus.NO_DEMAND
                if has_p
                else DecisionInputStatus.NO_DEMAND_NO_PRICE
            )
            rows.append(row)
    cols = [
        "material",
        "stage",
        "annual_demand_t",
        "demand_status",
        "demand_basis",
        "price_usd_t",
        "price_eur_t",
        "price_year",
        "eur_year",
        "usd_per_eur",
        "fx_source",
        "price_status",
        "price_series",
        "price_basis",
        "price_source",
        "status",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("price_year", "eur_year"):
        frame[c] = pd.array(frame[c].tolist(), dtype="Int64")
    for c in ("annual_demand_t", "price_usd_t", "price_eur_t", "usd_per_eur"):
        frame[c] = frame[c].astype("float64")
    for c in cols:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype(str).astype("string")
    sources = sorted(
        {s for s in frame["price_source"].dropna() if s and s != "user input"}
        | {s for s in frame["fx_source"].dropna() if s and not s.startswith("user")}
        | (_AC_SOURCES if (frame["demand_status"] == "apparent_consumption").any() else set())
    )
    prov = kb.provenance(
        "physical_baseline",
        stage=stage if not isinstance(stage, Mapping) else dict(stage),
        price_year=price_year,
        usd_per_eur=usd_per_eur,
        user_demand=sorted(user_t),
        user_price=sorted(user_p),
    )
    prov.sources = sources
    prov.units = {
        "annual_demand_t": units.T_PER_YEAR,
        "price_usd_t": units.USD_PER_T,
        "price_eur_t": units.EUR_PER_T,
        "usd_per_eur": units.USD_PER_EUR,
    }
    return attach(frame, prov)


def decision_parameters(
    kb: KnowledgeBase,
    materials: Sequence[str],
    *,
    parameters: pd.DataFrame | None = None,
    stage: Mapping[str, str] | str | None = None,
    scenario_demand_t: Mapping[str, float] | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Material parameters of a decision: the user's table, completed from the baseline.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        The decision's materials (as named in the scenario set).
    parameters
        The user's parameter table (columns of
        :class:`~critmat.optimize.parameters.MaterialParameters`; ``price_eur_t`` and
        ``annual_demand_t`` may be empty or the row absent: the knowledge base fills them).
    stage
        Stage of each material (default processing: the refined material a stock holds).
    scenario_demand_t
        Annual demand (t) the scenario set came with (its baseline), used before the
        knowledge base's apparent consumption.
    price_year, usd_per_eur
        As in :func:`physical_baseline`.

    Returns
    -------
    (parameters, baseline)
        The completed parameter table (``price_source`` says where each price came from)
        and the physical baseline rows used.

    Raises
    ------
    DecisionInputError
        When a material has no price (every such material with its status).
    """
    user = parameters.copy() if parameters is not None else pd.DataFrame({"material": []})
    if "material" not in user.columns:
        raise DecisionInputError("the parameter table needs a 'material' column", {})
    user["material"] = user["material"].astype(str)
    known = list(materials)
    ids: dict[str, str | None] = {}
    for m in known:
        try:
            found = kb.resolve_materials(m)
        except CritmatError:  # a name of the user's own (explicit scenario table)
            found = None
        ids[m] = found[0] if found and len(found) == 1 else None
    st: dict[str, str] = {}
    for m in known:
        if isinstance(stage, Mapping):
            st[m] = str(stage.get(m, "processing"))
        else:
            st[m] = str(stage) if stage is not None else "processing"
    need_price = []
    for m in known:
        row = user[user["material"] == m]
        given = "price_eur_t" in row.columns and len(row) and pd.notna(row["price_eur_t"].iloc[0])
        if not given:
            need_price.append(m)
    resolvable = [m for m in known if ids[m] is not None]
    rid = {m: str(ids[m]) for m in resolvable}
    base = (
        physical_baseline(
            kb,
            materials=[rid[m] for m in resolvable],
            stage={rid[m]: st[m] for m in resolvable},
            price_year=price_year,
            usd_per_eur=usd_per_eur,
        )
        if resolvable
        else pd.DataFrame()
    )
    by_id = {str(r["material"]): r for _, r in base.iterrows()} if len(base) else {}
    out_rows = []
    missing: dict[str, str] = {}
    for m in known:
        rec: dict[str, Any] = {"material": m}
        row = user[user["material"] == m]
        if len(row):
            rec.update({k: v for k, v in row.iloc[0].to_dict().items() if pd.notna(v)})
        b = by_id.get(rid[m]) if m in rid else None
        if m in need_price:
            if b is not None and np.isfinite(b["price_eur_t"]):
                rec["price_eur_t"] = float(b["price_eur_t"])
                rec["price_source"] = (
                    f"{b['price_basis']}; EUR {b['eur_year']} at {b['usd_per_eur']:.4f} USD/EUR "
                    f"({b['fx_source']})"
                )
            else:
                missing[m] = (
                    str(b["price_status"]) if b is not None else "unknown material (no price)"
                )
        elif "price_source" not in rec:
            rec["price_source"] = "user input (parameters)"
        if pd.isna(rec.get("annual_demand_t", np.nan)):
            sd = (scenario_demand_t or {}).get(m)
            if sd is not None and np.isfinite(sd) and sd > 0:
                rec["annual_demand_t"] = float(sd)
            elif b is not None and np.isfinite(b["annual_demand_t"]):
                rec["annual_demand_t"] = float(b["annual_demand_t"])
        out_rows.append(rec)
    if missing:
        raise DecisionInputError(
            "no price per tonne for "
            + ", ".join(f"{m} ({s})" for m, s in missing.items())
            + ": give price_eur_t in --parameters FILE (EUR per tonne, with the year), or "
            "another stage",
            missing,
        )
    return pd.DataFrame(out_rows), base
