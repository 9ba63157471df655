"""Back-tests: export-control events against trade, and against the presets' predictions.

For every event of ``export_controls`` whose materials have HS codes (``hs_codes``, the
HS 1992 codes of the BACI table; the 10-digit Chinese customs codes of the announcements are
HS 2017 and broader, so they are not used), three annual flows per material and stage from
the BACI table (``trade``, 1995-2024):

* ``eu_from_china``: EU27 members' imports from China;
* ``world_from_china``: every importer's imports from China;
* ``eu_from_extra_eu``: EU27 imports from every non-EU exporter (what the EU got at all).

Each flow's change around the effective date with its z-score against the material's own
year-to-year variation (:func:`critmat.methods.policy.window_change`, METHODS.md §2.6:
two calendar years before, the year of the event, up to two years after). Only HS codes
with trade in every year of the windows are summed (a code that ends, e.g. germanium's
811230 after 2016, would otherwise look like a collapse).

For events with a scenario preset (``critmat scenario presets``) the preset's ensemble is
run and its predicted EU shortfall (probability, expected months of unmet demand over the
horizon and within the calendar years after the event that trade covers) is set next to
what the trade shows: the fall of EU imports from all extra-EU suppliers in months of the
before-level. ``verdict`` says whether they agree (:class:`critmat.vocab.BacktestVerdict`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.methods.policy import BACKTEST_COLUMNS, window_change
from critmat.params import Selection, split_list
from critmat.provenance import attach
from critmat.vocab import BacktestStatus, BacktestVerdict

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["BACKTEST_RESULT_COLUMNS", "FLOWS", "backtest", "flows", "preset_check"]

#: The flows of the back-test.
FLOWS = ("eu_from_china", "world_from_china", "eu_from_extra_eu")

#: Columns of :func:`backtest`.
BACKTEST_RESULT_COLUMNS = [
    "event_id",
    "date_effective",
    "material",
    "stage",
    "flow",
    "hs6",
    *BACKTEST_COLUMNS,
    "significant",
    "preset",
    "p_shortfall",
    "predicted_shortfall_months",
    "predicted_window_months",
    "observed_gap_months",
    "implied_severity",
    "verdict",
    "verdict_text",
]

#: |z| at or above which a change is outside the material's usual variation.
Z_SIGNIFICANT = 2.0


def flows(kb: KnowledgeBase, materials: list[str]) -> pd.DataFrame:
    """Annual tonnes and value of the three flows, by material, stage and HS code.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, hs6, flow, year, quantity_t, value_kusd``; a year with trade but
        no quantity keeps NaN tonnes.
    """
    eu = set(kb.select.countries("EU27") or [])
    cn = kb.trade(materials=materials, exporters="CHN")
    cn = cn[cn["importer"] != "CHN"]
    to_eu = kb.trade(materials=materials, importers="EU27")
    parts = [
        cn[cn["importer"].isin(eu)].assign(flow="eu_from_china"),
        cn.assign(flow="world_from_china"),
        to_eu[~to_eu["exporter"].isin(eu)].assign(flow="eu_from_extra_eu"),
    ]
    d = pd.concat(parts, ignore_index=True)
    keys = ["material", "stage", "hs6", "flow", "year"]
    if d.empty:
        return pd.DataFrame(columns=[*keys, "quantity_t", "value_kusd"])
    g = d.groupby(keys, observed=True, as_index=False).agg(
        quantity_t=("quantity_t", lambda s: s.sum(min_count=1)),
        value_kusd=("value_kusd", "sum"),
    )
    for c in ("material", "stage", "hs6", "flow"):
        g[c] = g[c].astype(str)
    return g


def _stable_codes(f: pd.DataFrame, years: list[int]) -> set[str]:
    """HS codes with trade in every window year (world from China), per material and stage."""
    w = f[(f["flow"] == "world_from_china") & f["year"].isin(years)]
    n = w.groupby(["material", "stage", "hs6"])["year"].nunique()
    return {f"{m}|{s}|{h}" for (m, s, h), k in n.items() if k == len(years)}


def preset_check(
    kb: KnowledgeBase,
    name: str,
    *,
    samples: int = 500,
    seed: int = 2023,
    window: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """A preset's predicted EU shortfall per material (no stocks: the preset as shipped).

    Parameters
    ----------
    name
        Preset name.
    samples, seed
        Ensemble size and seed.
    window
        ``(first, last)`` month from the preset's month 0 (the announcement) over which to
        add up the mean monthly shortfall (the calendar years trade covers).
    progress
        ``progress(done, total)`` after every chunk of the preset run (scenarios).

    Returns
    -------
    pandas.DataFrame
        ``material, p_shortfall, predicted_shortfall_months, predicted_window_months``.
    """
    p = kb.scenarios.preset(name)
    res = kb.scenarios.run(p.spec, samples=samples, seed=seed, progress=progress or False)
    s = res.summary[["material", "p_shortfall", "shortfall_mean"]].rename(
        columns={"shortfall_mean": "predicted_shortfall_months"}
    )
    m = res.monthly
    m = m[m["variable"] == "shortfall"]
    if window is not None:
        m = m[(m["month"] >= window[0]) & (m["month"] <= window[1])]
        s["predicted_window_months"] = (
            s["material"].map(m.groupby("material")["mean"].sum()).astype("float64")
        )
    else:
        s["predicted_window_months"] = np.nan
    return s.reset_index(drop=True)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def backtest(
    kb: KnowledgeBase,
    *,
    events: Selection = None,
    presets: bool = True,
    samples: int = 500,
    seed: int = 2023,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Export-control events against trade (and against the presets' predictions).

    Parameters
    ----------
    kb
        Knowledge base.
    events
        ``export_controls`` event ids (default every one); an unknown id is an error.
    presets
        Run the preset of each event that has one and compare (``False``: trade only).
    samples, seed
        Ensemble size and seed of the preset runs.
    progress
        ``progress(done, total)``: scenarios drawn so far of all the preset runs (``total``
        is the number of presets run times ``samples``; ``(1, 1)`` at the end without
        presets). An exception it raises (a cancelled job) stops the back-test.

    Returns
    -------
    pandas.DataFrame
        One row per event, material, stage and flow (:data:`BACKTEST_RESULT_COLUMNS`);
        ``status`` says why a change is missing (no HS codes, no trade after the event).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> b = kb.policy.backtest(events="CN-2023-39", presets=False)
    >>> sorted(set(b["flow"])) == sorted(FLOWS)
    True
    """
    from critmat.errors import UnknownNameError, closest
    from critmat.scenarios.presets import PRESET_EVENTS

    ec = kb.table("export_controls")
    ids = list(dict.fromkeys(ec["event_id"]))
    chosen = split_list(events)
    if chosen is not None:
        for e in chosen:
            if e not in ids:
                raise UnknownNameError(
                    "export-control event",
                    e,
                    suggestions=closest(e, ids),
                    where="events= (export_controls.event_id)",
                )
        ids = [i for i in ids if i in chosen]
    ec = ec[ec["event_id"].isin(ids) & ec["material"].notna()]
    hs = kb.table("hs_codes")
    with_codes = set(hs["material"])
    mats = sorted(set(ec["material"]) & with_codes)
    f = (
        flows(kb, mats)
        if mats
        else pd.DataFrame(
            columns=["material", "stage", "hs6", "flow", "year", "quantity_t", "value_kusd"]
        )
    )
    last_year = kb.select.latest_year("trade")
    by_preset = {ev: name for name, (_, ev) in PRESET_EVENTS.items()}
    rows: list[pd.DataFrame] = []
    for ev_id, g in ec.groupby("event_id", sort=False):
        first = g.iloc[0]
        eff = (
            first["date_effective"]
            if pd.notna(first["date_effective"])
            else first["date_announced"]
        )
        base: dict[str, Any] = {"event_id": ev_id, "date_effective": eff}
        if pd.isna(eff):
            rows.append(pd.DataFrame([{**base, "status": BacktestStatus.NO_DATE.value}]))
            continue
        d = pd.Timestamp(eff).year
        for mat in dict.fromkeys(g["material"]):
            if mat not in with_codes:
                rows.append(
                    pd.DataFrame(
                        [{**base, "material": mat, "status": BacktestStatus.NO_HS_CODES.value}]
                    )
                )
                continue
            fm = f[f["material"] == mat]
            window_years = list(range(d - 2, min(d + 2, last_year) + 1))
            stable = _stable_codes(fm, window_years)
            key = fm["material"] + "|" + fm["stage"] + "|" + fm["hs6"]
            use = fm[key.isin(stable)] if stable else fm
            codes = use.groupby("stage")["hs6"].agg(lambda s: ";".join(sorted(set(s))))
            series = use.groupby(["material", "stage", "flow", "year"], as_index=False).agg(
                quantity_t=("quantity_t", lambda s: s.sum(min_count=1)),
                value_kusd=("value_kusd", "sum"),
            )
            if series.empty:
                rows.append(
                    pd.DataFrame(
                        [{**base, "material": mat, "status": BacktestStatus.NO_BEFORE_DATA.value}]
                    )
                )
                continue
            r = window_change(series, d, keys=["material", "stage", "flow"], last_year=last_year)
            r["hs6"] = r["stage"].map(codes)
            rows.append(r.assign(**base))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    for c in BACKTEST_RESULT_COLUMNS:
        if c not in out.columns:
            out[c] = (
                np.nan
                if c
                not in ("preset", "verdict", "verdict_text", "flow", "stage", "hs6", "material")
                else pd.NA
            )
    out["significant"] = (out["z"].abs() >= Z_SIGNIFICANT).where(out["z"].notna())
    # severity the record implies: the fall of EU imports from China
    out["implied_severity"] = np.where(
        out["flow"] == "eu_from_china", np.maximum(0.0, -out["change"].astype("float64")), np.nan
    )
    extra = out["flow"] == "eu_from_extra_eu"
    n_after = (
        out["after_years"]
        .fillna("")
        .map(lambda s: 0 if not s else int(s.split("-")[-1]) - int(s.split("-")[0]) + 1)
    )
    out["observed_gap_months"] = np.where(
        extra & out["change"].notna(),
        np.maximum(0.0, -out["change"].astype("float64")) * 12 * n_after,
        np.nan,
    )
    out["verdict"] = BacktestVerdict.NOT_TESTABLE.value
    out["verdict_text"] = ""
    todo = [e for e in dict.fromkeys(out["event_id"]) if by_preset.get(str(e)) is not None]
    if not presets:
        todo = []
    if progress is not None and todo:
        progress(0, len(todo) * samples)
    if todo:
        for i, ev_id in enumerate(todo):
            name = by_preset[str(ev_id)]
            p = kb.scenarios.preset(name)
            ev = p.spec.scenario.event
            ann = pd.Timestamp(ev.date_announced).date() if ev and ev.date_announced else None
            sel = out["event_id"] == ev_id
            d = int(pd.Timestamp(out.loc[sel, "date_effective"].iloc[0]).year)
            window = None
            after_last = min(d + 2, last_year)
            if ann is not None and after_last > d:
                window = (
                    max(0, _months_between(ann, date(d + 1, 1, 1))),
                    _months_between(ann, date(after_last, 12, 1)),
                )
            step = None
            if progress is not None:
                step = _offset(progress, i * samples, len(todo) * samples)
            pc = preset_check(kb, name, samples=samples, seed=seed, window=window, progress=step)
            out.loc[sel, "preset"] = name
            for r in pc.itertuples(index=False):
                m = sel & (out["material"] == r.material)
                out.loc[m, "p_shortfall"] = r.p_shortfall
                out.loc[m, "predicted_shortfall_months"] = r.predicted_shortfall_months
                out.loc[m, "predicted_window_months"] = r.predicted_window_months
    if progress is not None and not todo:
        progress(1, 1)
    out = _verdicts(out)
    out = _other_record(kb, out)
    out = out[BACKTEST_RESULT_COLUMNS].reset_index(drop=True)
    prov = kb.provenance("policy.backtest", None, events=events, samples=samples, seed=seed)
    prov.sources = sorted({"china_export_controls", "baci_hs92_v202401b", "gprs_hs_mapping"})
    prov.notes = [
        "change = mean(after) / mean(2 years before) - 1; z against the year-to-year changes "
        f"2011..(d-1); significant when |z| >= {Z_SIGNIFICANT:g} (METHODS.md §2.6)",
        "BACI is annual: an event effective in August makes its year partly treated "
        "(change_year_of); the trade table ends in "
        f"{last_year}",
        "observed_gap_months: fall of EU imports from all extra-EU suppliers, in months of "
        "the before-level (imports, not consumption: stocks and demand changes are not seen)",
    ]
    return attach(out, prov)


def _offset(progress: Callable[[int, int], None], start: int, total: int) -> Any:
    """``progress`` of one preset run, counted within all the runs of a back-test."""

    def report(done: int, _total: int) -> None:
        progress(start + done, total)

    return report


def _other_record(kb: KnowledgeBase, out: pd.DataFrame) -> pd.DataFrame:
    """Where trade cannot test a preset, name the other quantitative facts of the record."""
    facts = kb.table("defence_facts")
    facts = facts[facts["value_text"].notna() & facts["unit"].ne("qualitative")]
    sel = out["preset"].notna() & (out["verdict"] == BacktestVerdict.NOT_TESTABLE.value)
    for mat in dict.fromkeys(out.loc[sel, "material"].dropna()):
        f = facts[facts["material"] == mat]
        if f.empty:
            continue
        note = "; ".join(
            f"{r.fact_id} {r.fact}: {r.value_text} {r.unit}" for r in f.itertuples(index=False)
        )
        m = sel & (out["material"] == mat)
        out.loc[m, "verdict_text"] = (
            out.loc[m, "verdict_text"].fillna("").astype(str)
            + "; the record outside the trade table (defence_facts, not compared "
            "automatically): " + note
        )
    return out


def _verdicts(out: pd.DataFrame) -> pd.DataFrame:
    """Compare each material's predicted and observed shortfall (on the eu_from_extra_eu row)."""
    for (_ev, mat), g in out.groupby(["event_id", "material"], dropna=True, sort=False):
        pred = g["predicted_window_months"].dropna()
        obs = g.loc[g["flow"] == "eu_from_extra_eu", "observed_gap_months"].dropna()
        p_sf = g["p_shortfall"].dropna()
        cn = g.loc[g["flow"] == "eu_from_china"]
        idx = g.index
        if pred.empty or obs.empty or p_sf.empty:
            if not g["preset"].dropna().empty:
                st = str(g["status"].iloc[0])
                why = {
                    BacktestStatus.NO_HS_CODES.value: "the material has no HS code in the "
                    "trade table",
                    BacktestStatus.NO_BEFORE_DATA.value: "its HS codes have no trade around "
                    "the event",
                    BacktestStatus.NO_AFTER_DATA.value: "the trade table ends before the "
                    "year after the event",
                }.get(st, st)
                head = f"{g['preset'].dropna().iloc[0]} predicts"
                if not p_sf.empty:
                    head += (
                        f" P(shortfall) {float(p_sf.iloc[0]):.0%} and "
                        f"{float(g['predicted_shortfall_months'].dropna().iloc[0]):.1f} months "
                        "of unmet EU demand over its horizon"
                    )
                out.loc[idx, "verdict_text"] = f"{head} for {mat}; trade cannot test it: {why}"
            continue
        pw, ob, ps = float(pred.iloc[0]), float(obs.iloc[0]), float(p_sf.iloc[0])
        predicted = ps >= 0.5 and pw >= 1.0
        observed = ob >= 1.0
        verdict = BacktestVerdict.AGREE if predicted == observed else BacktestVerdict.DISAGREE
        ch_cn = cn["change"].dropna()
        cn_text = (
            f"EU imports from China changed by {float(ch_cn.iloc[0]):+.0%}"
            if not ch_cn.empty
            else "EU imports from China are not known"
        )
        text = (
            f"{g['preset'].dropna().iloc[0]} predicts P(shortfall) {ps:.0%} and "
            f"{pw:.1f} months of unmet EU {mat} demand in {g['after_years'].iloc[0]}; "
            f"trade shows EU imports from all extra-EU suppliers down by {ob:.1f} months of "
            f"supply ({cn_text})"
        )
        if verdict is BacktestVerdict.DISAGREE:
            text += ": prediction and record disagree"
        out.loc[idx, "verdict"] = verdict.value
        out.loc[idx, "verdict_text"] = text
    return out
