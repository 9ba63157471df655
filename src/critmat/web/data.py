"""What the dashboard pages show, computed from a knowledge base (frames and figures).

Each function takes the knowledge base of the signed-in user's data scope and returns the
figures (plotly, drawn by :mod:`critmat.report`) and tables of one page. The expensive
ones are cached per knowledge base and data stamp by :class:`PageCache`; nothing is
computed at import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.errors import UnknownNameError

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "Chart",
    "PageCache",
    "crma_page",
    "decisions",
    "defence_page",
    "material_page",
    "overview_page",
    "policy_page",
    "stockpile_page",
]


@dataclass
class Chart:
    """A figure of a page with the line of sources printed below it."""

    key: str
    figure: Any
    sources: list[str] = field(default_factory=list)
    note: str = ""

    def json(self) -> str:
        """The figure as JSON for ``Plotly.newPlot`` (safe inside a script element)."""
        text: str = self.figure.to_json()
        return text.replace("</", "<\\/")


class PageCache:
    """Results per ``(knowledge base, data stamp, key)``; computed once, thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[Any, ...], Any] = {}
        self._size = size

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The cached value of ``key``, built on first use."""
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = build()
        with self._lock:
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value
        return value


def source_titles(kb: KnowledgeBase) -> dict[str, str]:
    """``{source id: title (publisher, year)}`` for the source lines."""
    out = {}
    for r in kb.sources().itertuples(index=False):
        bits = [str(x) for x in (r.publisher,) if isinstance(x, str) and x]
        if isinstance(r.year, int | float) and r.year == r.year:
            bits.append(str(int(r.year)))
        out[str(r.id)] = f"{r.title} ({', '.join(bits)})" if bits else str(r.title)
    return out


def assessment(kb: KnowledgeBase) -> Assessment:
    """The main job's assessment (defence summary, no what-if ensembles: pages stay fast)."""
    from critmat.assess import assess

    return assess(kb, whatif_samples=0)


def named(table: pd.DataFrame) -> pd.DataFrame:
    """The assessment table with material names in the ``material`` column (for figures)."""
    return table.assign(material=table["name"].astype(str), material_id=table["material"])


def _column_sources(a: Assessment, *columns: str) -> list[str]:
    out: list[str] = []
    for c in columns:
        info = a.columns.get(c)
        if info is not None:
            out.extend(s for s in info.sources if s not in out)
    return out


def decisions(kb: KnowledgeBase, a: Assessment) -> tuple[Any, str]:
    """The decisions layer's "What to do" section for the assessment, or why there is none.

    The same section as in the assessment report
    (:func:`critmat.report.decisions.what_to_do_section`: the optimal stockpile over a cut
    of China's supply, the frontier, partner and reshoring moves).
    """
    import importlib

    from critmat.errors import CritmatError

    try:
        module = importlib.import_module("critmat.report.decisions")
    except ImportError:
        return None, (
            "the decisions layer's 'What to do' section (critmat.optimize) is not part of "
            "this build"
        )
    try:
        return module.what_to_do_section(kb, a), ""
    except CritmatError as exc:
        return None, f"not computed: {exc}"


def stockpile_page(kb: KnowledgeBase, a: Assessment, section: Any, why: str) -> dict[str, Any]:
    """The stockpile plan and frontier: the blocks of the "What to do" section.

    Returns ``items``: ``("html", text)`` for text and tables, ``("chart", Chart)`` for
    figures, in the section's order.
    """
    import html

    from critmat.report.builder import Details, Figure, Html, Table, Text
    from critmat.report.html import table_html

    items: list[tuple[str, Any]] = []
    if section is None:
        return {"items": items, "why": why}
    names = dict(zip(a.table["material"], a.table["name"], strict=True))
    sources = list(section.sources)

    def add(blocks: list[Any], depth: int = 0) -> None:
        for i, b in enumerate(blocks):
            if isinstance(b, Text):
                cls = " class='source'" if b.meta else ""
                items.append(("html", f"<p{cls}>{html.escape(b.text)}</p>"))
            elif isinstance(b, Table):
                shown = b.frame
                if "material" in shown.columns:
                    shown = shown.assign(
                        material=shown["material"].map(names).fillna(shown["material"])
                    )
                block = Table(shown, b.columns, b.title, b.caption, b.first_left, "–", b.marks)
                items.append(("html", table_html(block).replace("<table>", "<table class='data'>")))
            elif isinstance(b, Figure):
                items.append(
                    ("chart", Chart(f"decision-{depth}-{i}", b.figure, b.sources or sources))
                )
            elif isinstance(b, Html):
                items.append(("html", b.html))
            elif isinstance(b, Details):
                items.append(("html", f"<h3>{html.escape(b.summary)}</h3>"))
                add(b.blocks, depth + 1)

    add(section.blocks)
    return {"items": items, "why": why}


def overview_page(
    kb: KnowledgeBase, a: Assessment, section: Any = None, why: str = ""
) -> dict[str, Any]:
    """Criticality matrix, China share by stage, the ranking of what to do."""
    from critmat.report import charts
    from critmat.report.executive import actions_from_section, report_data

    table = named(a.table)
    names = dict(zip(a.table["material"], a.table["name"], strict=True))
    actions, note = actions_from_section(section, names)
    data = report_data(kb, a, actions=actions, actions_note=note if section is not None else why)
    ranking = (
        pd.DataFrame(data["materials"])
        .sort_values(["sr", "china_max"], ascending=False, na_position="last")
        .head(12)
    )
    return {
        "charts": [
            Chart("matrix", charts.criticality_chart(table), _column_sources(a, "sr", "ei")),
            Chart(
                "china",
                charts.china_share_chart(table),
                _column_sources(a, "china_extraction", "china_processing"),
            ),
        ],
        "data": data,
        "ranking": ranking.to_dict("records"),
        "materials": table[["material_id", "material", "critical"]].to_dict("records"),
    }


def _events_for(kb: KnowledgeBase, material: str) -> pd.DataFrame:
    """Policy events naming the material: China's export controls and the policy record."""
    rows = []
    ec = kb.table("export_controls")
    for r in ec[ec["material"] == material].itertuples(index=False):
        date = r.date_effective if pd.notna(r.date_effective) else r.date_announced
        if pd.notna(date):
            rows.append(
                {
                    "date": pd.Timestamp(date),
                    "label": f"China: {r.instrument}"[:90],
                    "detail": str(r.scope)[:140],
                }
            )
    policy = getattr(kb, "policy", None)  # resolves groups (an event on "rare earths" ...)
    if policy is not None:
        ev = policy.events(materials=material)
    else:
        links = kb.table("policy_event_materials")
        ids = set(links.loc[links["material"] == material, "event_id"])
        ev = kb.table("policy_events")
        ev = ev[ev["event_id"].isin(ids)]
    for r in ev.itertuples(index=False):
        if pd.notna(r.date):
            rows.append(
                {
                    "date": pd.Timestamp(r.date),
                    "label": f"{r.actor}: {str(r.instrument_type).replace('_', ' ')}",
                    "detail": str(r.summary)[:160],
                }
            )
    out = pd.DataFrame(rows, columns=["date", "label", "detail"])
    return out.drop_duplicates(["date", "label"]).sort_values("date", ignore_index=True)


def _yearly_imports(kb: KnowledgeBase, material: str) -> pd.DataFrame:
    trade = kb.trade(materials=material, importers="EU27")
    if trade.empty:
        return pd.DataFrame(columns=["year", "value_musd", "china_share"])
    countries = kb.table("countries")
    eu = set(countries.loc[countries["eu27"].fillna(False).astype(bool), "country"])
    extra = trade[~trade["exporter"].isin(eu)]
    by = extra.groupby("year")["value_kusd"].sum()
    china = extra[extra["exporter"] == "CHN"].groupby("year")["value_kusd"].sum()
    out = pd.DataFrame({"value_kusd": by, "china_kusd": china.reindex(by.index).fillna(0.0)})
    out = out[out["value_kusd"] > 0]
    return pd.DataFrame(
        {
            "year": out.index.astype(int),
            "value_musd": out["value_kusd"].to_numpy() / 1000.0,
            "china_share": (out["china_kusd"] / out["value_kusd"]).to_numpy(),
        }
    )


def material_page(kb: KnowledgeBase, a: Assessment, material: str) -> dict[str, Any]:
    """One material: supply maps by stage, trade trend with events, EU method values.

    Raises
    ------
    critmat.errors.UnknownNameError
        For a material that is not assessed (with the closest names).
    """
    from critmat.errors import closest
    from critmat.report import dashboard

    t = a.table.set_index("material")
    if material not in t.index:
        names = [str(m) for m in t.index]
        raise UnknownNameError(
            "material", material, suggestions=closest(material, names), where="the assessment"
        )
    row = t.loc[material]
    name = str(row["name"])
    countries = dict(
        zip(kb.table("countries")["country"], kb.table("countries")["name"], strict=True)
    )
    shares = a.shares[(a.shares["material"] == material) & (a.shares["mix"] == "global")]
    charts: list[Chart] = []
    missing: list[str] = []
    share_src = sorted({str(s) for s in shares["source_id"].dropna()}) or ["eu_crm_2023_gs"]
    for stage in ("extraction", "processing"):
        if (shares["stage"] == stage).any():
            charts.append(
                Chart(
                    f"map-{stage}",
                    dashboard.supply_map(shares, material=name, stage=stage, countries=countries),
                    share_src,
                )
            )
        else:
            missing.append(f"no {stage} shares in the EU 2023 study for {name}")
    yearly = _yearly_imports(kb, material)
    events = _events_for(kb, material)
    if len(yearly):
        charts.append(
            Chart(
                "trade",
                dashboard.trade_trend(yearly, events, material=name),
                [
                    "baci_hs92_v202401b",
                    "gprs_hs_mapping",
                    "china_export_controls",
                    "policy_record_2008_2025",
                ],
                note=f"{len(events)} policy events marked" if len(events) else "",
            )
        )
    else:
        missing.append(
            f"no BACI trade flows for {name} (no HS code maps to it in the trade extract)"
        )
    eu = a.eu.set_index("material")
    if material in eu.index:
        e = eu.loc[material]
        rows = pd.DataFrame(
            {
                "indicator": ["supply risk (SR)", "economic importance (EI)"],
                "computed": [e["sr"], e["ei"]],
                "published": [e["published_sr"], e["published_ei"]],
            }
        )
        charts.append(
            Chart(
                "method",
                dashboard.method_chart(rows, material=name),
                [*_column_sources(a, "sr", "ei"), "eu_crm_2023_results"],
                note=str(e["reason"]) if isinstance(e.get("reason"), str) else "",
            )
        )
    facts = {
        "China share of extraction": row.get("china_extraction"),
        "China share of processing": row.get("china_processing"),
        "HHI (bottleneck stage)": row.get("hhi"),
        "EU import reliance": row.get("import_reliance"),
        "GeoPolRisk score": row.get("geopolrisk"),
        "Supply risk, critmat": row.get("sr"),
        "Supply risk, published": row.get("published_sr"),
        "Economic importance, critmat": row.get("ei"),
        "Economic importance, published": row.get("published_ei"),
    }
    return {
        "material": material,
        "name": name,
        "critical": row.get("critical"),
        "facts": facts,
        "charts": charts,
        "missing": missing,
        "events": events.assign(date=events["date"].dt.strftime("%Y-%m-%d")).to_dict("records"),
    }


def defence_page(kb: KnowledgeBase, *, months: int, cut: float) -> dict[str, Any]:
    """Defence exposure (heatmap) and capability at risk in a cut of China's deliveries."""
    from critmat.report import dashboard
    from critmat.report.defence import exposure_heatmap

    exp = kb.defence.exposure(stage="processing", by="system")
    cap = kb.defence.capability_at_risk(exporters="CHN", cut=cut, months=months)
    names = dict(zip(kb.table("materials")["material"], kb.table("materials")["name"], strict=True))
    cap = cap.assign(
        limiting=cap["limiting_material_fixed"].map(lambda m: names.get(m, m)).fillna("–")
    )
    exp_named = exp.assign(material=exp["material"].map(lambda m: names.get(m, m)))
    exp_src = sorted(set(exp.attrs.get("critmat", {}).get("sources", [])))
    cap_src = sorted(set(cap.attrs.get("critmat", {}).get("sources", [])))
    charts = []
    if len(exp):
        charts.append(Chart("exposure", exposure_heatmap(exp_named), exp_src))
    if len(cap):
        charts.append(Chart("capability", dashboard.capability_chart(cap), cap_src))
    rows = cap[
        [
            "system",
            "programme",
            "planned_units",
            "not_built_fixed",
            "not_built_mitigated",
            "share_lost_fixed",
            "limiting",
            "kind",
        ]
    ].to_dict("records")
    return {"charts": charts, "capability": rows, "months": months, "cut": cut}


def policy_page(kb: KnowledgeBase) -> dict[str, Any]:
    """The policy timeline 2008-2025 (and earlier seed events) and the event table."""
    from critmat.report import dashboard

    policy = getattr(kb, "policy", None)  # the policy layer's accessor, where it is built
    ev = policy.events() if policy is not None else kb.table("policy_events")
    ev = ev[ev["date"].notna()]
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(ev["date"]),
            "actor": ev["actor"].astype(str),
            "instrument": ev["instrument_type"].astype(str),
            "summary": ev["summary"].astype(str).str.slice(0, 180),
            "materials": ev["materials"].astype("string").fillna("general").str.replace(";", ", "),
        }
    ).sort_values("date")
    chart = Chart(
        "timeline",
        dashboard.policy_timeline(frame),
        sorted({str(s) for s in ev["source_id"].dropna()})[:6],
    )
    rows = frame.sort_values("date", ascending=False).assign(
        date=lambda d: d["date"].dt.strftime("%Y-%m-%d")
    )
    return {"charts": [chart], "events": rows.to_dict("records")}


def crma_page(kb: KnowledgeBase) -> dict[str, Any]:
    """The CRMA tracker: benchmarks, single-country dependence, qualitative status."""
    from critmat.report import dashboard

    names = dict(zip(kb.table("materials")["material"], kb.table("materials")["name"], strict=True))
    countries = dict(
        zip(kb.table("countries")["country"], kb.table("countries")["name"], strict=True)
    )
    policy = getattr(kb, "policy", None)  # the policy layer's CRMA tracker, where it is built
    if policy is not None:
        return _crma_tracker(policy.crma_benchmarks(), names, countries)
    s = kb.table("crma_eu_sourcing_2023")
    s = s[s["largest_third_country_share"].notna()]
    frame = pd.DataFrame(
        {
            "material_name": s["material"].map(lambda m: names.get(m, m)).astype(str),
            "stage": s["stage"].astype(str),
            "largest_third_country_share": s["largest_third_country_share"].astype(float),
            "largest_third_country_name": s["largest_third_country"]
            .map(lambda c: countries.get(c, c))
            .astype(str),
            "eu27_share": s["eu27_share"],
        }
    )
    chart = Chart(
        "crma",
        dashboard.crma_chart(frame),
        sorted({str(x) for x in s["source_id"].dropna()}),
    )
    bench = kb.table("crma_benchmarks")
    bench = bench[bench["in_force"].fillna(False).astype(bool)]
    status = kb.table("crma_status_qualitative")
    status = status.assign(material=status["material"].map(lambda m: names.get(m, m)))
    return {
        "charts": [chart],
        "benchmarks": bench[
            ["benchmark", "stage", "threshold", "unit", "comparison", "target_year", "definition"]
        ].to_dict("records"),
        "status": status[["material", "benchmark", "status_text", "period", "source_id"]].to_dict(
            "records"
        ),
        "above_cap": int((frame["largest_third_country_share"] > 0.65).sum()),
        "n": len(frame),
        "tracker": [],
        "benchmark_names": [],
    }


def _crma_tracker(
    tr: pd.DataFrame, names: dict[str, str], countries: dict[str, str]
) -> dict[str, Any]:
    """The page from :func:`critmat.policy.crma.benchmarks` (one row per material, benchmark)."""
    from critmat.report import dashboard

    cap = tr[(tr["benchmark"] == "single_third_country_cap") & tr["value"].notna()]
    frame = pd.DataFrame(
        {
            "material_name": cap["material"].map(lambda m: names.get(m, m)).astype(str),
            "stage": cap["third_country_stage"].astype("string").fillna("all stages").astype(str),
            "largest_third_country_share": cap["value"].astype(float),
            "largest_third_country_name": cap["third_country"]
            .map(lambda c: countries.get(c, c))
            .astype(str),
        }
    )
    thresholds = cap["threshold"].dropna()
    limit = float(thresholds.iloc[0]) if len(thresholds) else 0.65
    chart = Chart(
        "crma",
        dashboard.crma_chart(frame, cap=limit),
        sorted(
            {
                x.strip(" []'\"")
                for v in tr["source_id"].dropna()
                for x in str(v).replace(",", ";").split(";")
                if x.strip(" []'\"")
            }
        ),
    )
    benchmarks = list(dict.fromkeys(str(b) for b in tr["benchmark"]))
    rows = []
    for m, g in tr.groupby("material", sort=False):
        by = {str(r.benchmark): r for r in g.itertuples(index=False)}
        rows.append(
            {
                "material": names.get(str(m), str(m)),
                "cells": [
                    {
                        "status": str(by[b].status) if b in by else "–",
                        "value": by[b].value if b in by else None,
                        "basis": str(by[b].basis) if b in by else "",
                    }
                    for b in benchmarks
                ],
            }
        )
    bench = (
        tr.drop_duplicates("benchmark")[["benchmark", "stage", "threshold", "comparison"]]
        .assign(unit="EU annual consumption", target_year=2030, definition="CRMA Article 5")
        .to_dict("records")
    )
    return {
        "charts": [chart],
        "benchmarks": bench,
        "status": [],
        "above_cap": int((frame["largest_third_country_share"] > limit).sum()),
        "n": len(frame),
        "tracker": rows,
        "benchmark_names": [b.replace("_", " ") for b in benchmarks],
    }
