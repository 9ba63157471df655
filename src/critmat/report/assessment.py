"""The report of the main job: what the ``critmat assess`` report contains, and in what order.

:func:`assessment_report` builds a :class:`~critmat.report.builder.Report` from an
:class:`~critmat.assess.Assessment` (or runs the assessment): the summary table, the
criticality matrix, China's share by stage, the supply shares, GeoPolRisk, the defence
section, the "what if" scenarios, and the sources and method of every column. The same
table blocks serve the terminal (:func:`terminal_tables`) and the HTML page.

Each section comes from a builder ``(kb, assessment) -> Section | None`` in
:data:`SECTIONS`; a package that has something to add to the assessment (optimisation,
policy) writes a builder in its report module and appends it there, or passes
``sections=`` to :func:`assessment_report`. Renderers (HTML today, PDF later) and an
executive summary work on the finished report without touching the builders.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.report import charts
from critmat.report.builder import Column, Details, Figure, Html, Report, Section, Table, Text
from critmat.vocab import CriticalBasis, CriticalityCategory

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.defence.bom import DemandSource
    from critmat.knowledge_base import KnowledgeBase
    from critmat.params import GroupBy, Selection
    from critmat.scenarios.whatif import WhatIf

__all__ = [
    "SECTIONS",
    "SectionBuilder",
    "assessment_report",
    "capability_table",
    "defence_table",
    "summary_table",
    "terminal_tables",
    "whatif_table",
]

SectionBuilder = Callable[["KnowledgeBase", "Assessment"], Section | None]

#: Number style of each column of the assessment's tables (terminal and HTML alike).
_STYLES = {
    "china_extraction": "percent",
    "china_processing": "percent",
    "hhi": "share",
    "import_reliance": "percent",
    "crma_single_country": "percent",
    "geopolrisk": "share",
    "sr": "decimal1",
    "ei": "decimal1",
    "defence_importance": "decimal1",
    "defence_demand_t": "tonnes",
    "china_share_processing": "percent",
}

_SUMMARY_CAPTION = (
    "China E/P: share of global supply (newest vintage per material and stage, USGS MCS 2026 "
    "or EU 2023: supply_vintage column); HHI at the bottleneck stage; IR: EU import "
    "reliance; SR/EI: EU method computed by critmat (* EI not computable from the public "
    "tables, published EI used); GeoPolRisk – = not assessable (no HS code) or no data; "
    "sources: `critmat assess --report FILE`"
)


def _critical_mark(rec: Any) -> tuple[str, bool]:
    star = "*" if rec.get("critical_basis") == CriticalBasis.PUBLISHED_EI else ""
    return star, rec.get("critical") is True


def summary_table(assessment: Assessment) -> Table:
    """The assessment's summary table (one row per material)."""
    cols = {
        name: Column(info.label, _STYLES.get(name, "auto"), info.method)
        for name, info in assessment.columns.items()
    }
    return Table(
        assessment.table,
        cols,
        title=f"Defence raw materials, importer {assessment.importer} (GeoPolRisk "
        f"{assessment.year}; EU method 2023 inputs)",
        caption=_SUMMARY_CAPTION
        if assessment.importer == "EU27"
        else _SUMMARY_CAPTION.replace(
            "IR: EU import reliance",
            f"IR: net import reliance of {assessment.importer} in {assessment.year} (BACI "
            "trade, World Mining Data production; not the EU's)",
        ),
        marks={"critical": _critical_mark},
    )


def defence_table(assessment: Assessment) -> Table | None:
    """The defence summary of the assessed materials that have a cited defence use."""
    if assessment.defence is None:
        return None
    from critmat.columns import family

    fam = family("assess.defence")
    d = assessment.defence
    shown = d[d["defence_category"] != CriticalityCategory.NO_DEFENCE_USE]
    cols = {
        c.name: Column(c.label or c.name, _STYLES.get(c.name, "auto"), c.description)
        for c in fam.columns
        if c.name != "demand_programmes"
    }
    progs = (
        shown["demand_programmes"].dropna().astype(str).tolist()
        if "demand_programmes" in shown.columns
        else []
    )
    whose = "; ".join(dict.fromkeys(p for line in progs for p in line.split("; ")))
    return Table(
        shown,
        cols,
        title="Defence: importance, demand and its exposure (critmat indicator; see "
        "docs/defence.md)",
        caption=f"{len(d) - len(shown)} assessed materials have no cited defence use. "
        "Programme t/yr is the demand of named programmes, not EU27 demand"
        + (f": {whose}" if whose else " (no programme has a BOM and a build rate)")
        + ". China P (def.): EU sourcing shares for EU-built systems, global shares for "
        "systems built elsewhere",
    )


def capability_table(assessment: Assessment) -> Table | None:
    """Capability at risk of a full Chinese cut: pro-rata and defence-first side by side."""
    c = getattr(assessment, "capability", None)
    if c is None or c.empty:
        return None
    cols = {
        "system": Column("System"),
        "producer_country": Column("Producer"),
        "planned_units": Column("Planned", "decimal1"),
        "not_built_pro_rata": Column("Not built, pro rata", "decimal1"),
        "not_built_defence_first": Column("Not built, defence first", "decimal1"),
        "limiting_material_fixed": Column("Limiting"),
        "rests_on_assumption": Column("Assumption"),
    }
    notes = "; ".join(dict.fromkeys(item for a in c["assumptions"] for item in str(a).split("; ")))
    months = int(c["months"].iloc[0]) if "months" in c.columns and len(c) else 12
    return Table(
        c,
        cols,
        title=f"Capability at risk: China cuts 100 % for {months} months (both allocation "
        "rules; no substitution)",
        caption="pro rata: defence gets the same share as every user; defence first: defence "
        "is served before the rest of the economy. Rests on: " + notes,
    )


def whatif_table(w: WhatIf | None) -> Table | None:
    """One line per preset: the material with the largest expected shortfall."""
    if w is None or w.table.empty:
        return None
    top = w.table.sort_values("expected shortfall (months)", ascending=False).drop_duplicates(
        "scenario"
    )
    frame = pd.DataFrame(
        {
            "preset": top["preset"],
            "event": top["event"],
            "worst material": top["material"],
            "P(shortfall)": top["P(any shortfall)"],
            "E[shortfall] mo": top["expected shortfall (months)"],
            "CVaR95 mo": top["CVaR95 (months)"],
            "stock lasts mo": top["stock lasts (median, months)"],
        }
    )
    cols = {
        "preset": Column("preset"),
        "event": Column("event"),
        "worst material": Column("worst material"),
        "P(shortfall)": Column("P(shortfall)", "percent"),
        "E[shortfall] mo": Column("E[shortfall] mo", "decimal2"),
        "CVaR95 mo": Column("CVaR95 mo", "decimal2"),
        "stock lasts mo": Column("stock lasts mo", "decimal1"),
    }
    return Table(
        frame,
        cols,
        title=f"What if (presets, {w.samples} draws each, seed {w.seed}; stocks "
        f"{w.stock_months:.1f} months of demand)",
        caption="material with the largest expected shortfall per preset (`critmat scenario "
        "presets`); shortfall in months of EU demand, CVaR95 = mean of the worst 5 %; stock "
        "lasts: median months until the stock is used up; tables and fan charts in --report, "
        "full ensembles with `critmat scenario run --preset NAME`",
        first_left=3,
    )


def terminal_tables(assessment: Assessment, *, width: int | None = None) -> list[Any]:
    """The assessment as Rich tables for the terminal: summary, defence, what if.

    With ``width`` (the terminal's), columns that do not fit are left out and named in
    each table's caption instead of being squeezed to ``10…``.
    """
    from critmat.report.terminal import rich_table

    blocks = [
        summary_table(assessment),
        defence_table(assessment),
        capability_table(assessment),
        whatif_table(assessment.whatif),
    ]
    return [rich_table(b, width=width) for b in blocks if b is not None]


# ----------------------------------------------------------------------------- sections


def _summary(kb: KnowledgeBase, a: Assessment) -> Section:
    t = a.table
    n_crit = int(t["critical"].fillna(False).astype(bool).sum())
    over = t["crma_single_country"].astype("float64") > 0.65
    n_china = int(over.sum())
    n_china_cn = int((over & t["crma_single_country_country"].eq("CHN").fillna(False)).sum())
    table = summary_table(a)
    table.title = ""
    table.caption = ""
    return Section(
        "Summary table",
        [
            Text(
                f"{len(t)} CRMA strategic and critical raw materials assessed; {n_crit} are "
                "critical by the EU thresholds as computed by critmat; for "
                f"{n_china} of them a single third country supplies more than 65 % of EU "
                f"consumption at some stage (China for {n_china_cn}), above the CRMA's "
                "single-country cap (Art. 5(1)(d); EU 2023 study EU-sourcing shares as the "
                "proxy of EU consumption, see the CRMA section)."
            ),
            table,
            Text(
                "* economic importance not computable from the public tables (no end-use "
                "shares): classified with critmat's SR and the published EI. Hover a column "
                "header for its method; the sources section lists every input.",
                meta=True,
            ),
        ],
        sources=list(a.provenance.get("sources", [])),
        key="summary",
    )


def _column_sources(a: Assessment, *columns: str) -> list[str]:
    """Source ids of the assessment's columns (the figure's source line)."""
    out: list[str] = []
    for c in columns:
        info = a.columns.get(c)
        if info is not None:
            out.extend(s for s in info.sources if s not in out)
    return out


def _named(a: Assessment, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """``frame`` (default the summary table) with material names for figures, not ids."""
    names = dict(zip(a.table["material"], a.table["name"].astype(str), strict=True))
    f = a.table if frame is None else frame
    return f.assign(material=f["material"].map(names).fillna(f["material"]))


def _matrix(kb: KnowledgeBase, a: Assessment) -> Section:
    return Section(
        "Criticality matrix",
        [Figure(charts.criticality_chart(_named(a)))],
        sources=_column_sources(a, "sr", "ei"),
        key="matrix",
    )


def _china(kb: KnowledgeBase, a: Assessment) -> Section:
    return Section(
        "China share by stage",
        [Figure(charts.china_share_chart(_named(a)))],
        sources=_column_sources(a, "china_extraction", "china_processing"),
        key="china",
    )


def _shares(kb: KnowledgeBase, a: Assessment) -> Section:
    return Section(
        "Supply shares by stage and country",
        [Figure(charts.supply_shares_chart(_named(a, a.shares)))],
        sources=_column_sources(a, "china_extraction", "china_processing", "hhi"),
        key="shares",
    )


def _geopolrisk(kb: KnowledgeBase, a: Assessment) -> Section:
    return Section(
        "GeoPolRisk",
        [Figure(charts.geopolrisk_chart(_named(a), a.importer, a.year))],
        sources=_column_sources(a, "geopolrisk"),
        key="gpr",
    )


def _defence(kb: KnowledgeBase, a: Assessment) -> Section | None:
    if a.defence is None:
        return None
    from critmat.report.defence import capability_of, defence_section

    cap = capability_of(kb, a, exporters="CHN", cut=1.0, months=12)
    return defence_section(kb, list(a.table["material"]), demand=a.demand, capability=cap)


def _whatif(kb: KnowledgeBase, a: Assessment) -> Section | None:
    if a.whatif is None:
        return None
    from critmat.report.scenario import whatif_section

    return whatif_section(a.whatif)


#: The sections of the assessment report, in order (the sources section always comes last).
SECTIONS: list[SectionBuilder] = [
    _summary,
    _matrix,
    _china,
    _shares,
    _geopolrisk,
    _defence,
    _whatif,
]


def _what_to_do(kb: KnowledgeBase, a: Assessment) -> Section | None:
    from critmat.report.decisions import what_to_do_section

    return what_to_do_section(kb, a)


SECTIONS.append(_what_to_do)  # decisions (issue 13): recommended stocks, frontier, moves


# policy layer (issue 14): CRMA Art. 5 tracker and events on the import series
def _crma(kb: KnowledgeBase, a: Assessment) -> Section | None:
    from critmat.report.policy import crma_section

    return crma_section(kb, a)


def _policy_events(kb: KnowledgeBase, a: Assessment) -> Section | None:
    from critmat.report.policy import events_section

    return events_section(kb, a)


SECTIONS += [_crma, _policy_events]


def sources_section(kb: KnowledgeBase, a: Assessment, used: Sequence[str]) -> Section:
    """Every column's method and sources, the sources themselves, and the provenance."""
    columns = pd.DataFrame(
        [
            {
                "column": info.label,
                "unit": info.unit,
                "method": info.method,
                "sources": ", ".join(info.sources),
            }
            for info in a.columns.values()
        ]
    )
    src = kb.sources()
    src = src[src["id"].isin(set(used))]
    rows = []
    for r in src.itertuples(index=False):
        url = "" if _missing(r.url) else str(r.url)
        title = "" if _missing(r.title) else str(r.title)
        rows.append(
            {
                "id": r.id,
                "title": title,
                "url": url,
                "publisher, year": f"{'' if _missing(r.publisher) else r.publisher}, "
                f"{'' if _missing(r.year) else int(r.year)}",
                "licence": "" if _missing(r.licence) else str(r.licence),
                "via": "" if _missing(r.transcription) else str(r.transcription),
            }
        )
    sources = pd.DataFrame(
        rows, columns=["id", "title", "url", "publisher, year", "licence", "via"]
    )
    every = {c: Column(c) for c in ("column", "unit", "method", "sources")}
    prov = json.dumps(a.provenance, indent=2, default=str)
    return Section(
        "Sources and method",
        [
            Table(columns, every, title="Columns: method and sources", first_left=4),
            Table(
                sources,
                {c: Column(c) for c in sources.columns},
                title="Sources",
                first_left=len(sources.columns),
            ),
            Details("Full provenance (JSON)", [Html(f"<pre>{html.escape(prov)}</pre>")]),
        ],
        sources=list(used),
        key="sources",
    )


def _missing(value: Any) -> bool:
    from critmat.report.format import is_missing

    return is_missing(value)


def assessment_report(
    kb: KnowledgeBase,
    assessment: Assessment | None = None,
    *,
    materials: Selection = None,
    importers: Selection = "EU27",
    years: Any = None,
    groupby: GroupBy = None,
    demand: DemandSource | None = None,
    whatif_samples: int = 300,
    seed: int = 2023,
    sections: Sequence[SectionBuilder] | None = None,
    previous: str | Path | Mapping[str, Any] | None = None,
) -> Report:
    """The report of the EU defence raw-materials assessment.

    Parameters
    ----------
    kb
        Knowledge base.
    assessment
        A computed assessment; default: run :func:`critmat.assess.assess` with the
        selection below.
    materials, importers, years, groupby, demand, whatif_samples, seed
        The selection of :func:`critmat.assess.assess` (when ``assessment`` is ``None``).
    sections
        Section builders (default :data:`SECTIONS`); more can be appended by other
        packages.
    previous
        An earlier report's data file (``FILE.json``, or its report path) or its parsed
        content: the executive summary says what changed since.

    Returns
    -------
    Report
        Render with ``report.render("html")`` or write with ``report.write(path)``.
    """
    if assessment is None:
        from critmat.assess import assess

        assessment = assess(
            kb,
            materials=materials,
            importers=importers,
            years=years,
            groupby=groupby,
            demand=demand,
            whatif_samples=whatif_samples,
            seed=seed,
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = Report(
        f"Defence raw-materials assessment: {assessment.importer}",
        f"critmat {__version__}, dataset {kb.version} (hash {kb.catalog.content_hash}), "
        f"generated {stamp}. GeoPolRisk year {assessment.year}; EU method inputs of the 2023 "
        "study.",
        provenance=assessment.provenance,
    )
    origin = kb.cache.origin(assessment)  # once: a fingerprint of the whole assessment
    for build in sections if sections is not None else SECTIONS:
        own = (getattr(build, "__module__", "") or "").startswith("critmat.")
        report.add(_section(kb, build, assessment, origin if own else None))
        if not own and origin is not None:  # another package's builder may change it
            origin = kb.cache.origin(assessment)
    used = sorted(set(assessment.provenance.get("sources", [])) | set(report.sources()))
    report.add(sources_section(kb, assessment, used))
    _executive(kb, assessment, report, previous)
    return report


def _section(
    kb: KnowledgeBase, build: SectionBuilder, a: Assessment, origin: str | None
) -> Section | None:
    """``build(kb, a)``, kept between runs when ``origin`` is a kept assessment's key.

    critmat's own builders are pure functions of the knowledge base and the assessment: for
    an assessment read from or written to the results (:func:`critmat.assess.assess` is
    persistent), the section is keyed by that assessment's key and the state of ``kb``
    (:mod:`critmat.data.results`). The caller passes no origin for other builders,
    assessments made elsewhere and kept assessments changed in place since
    (:meth:`~critmat.data.cache.Cache.origin`): those are built every time.
    """
    if origin is None:
        return build(kb, a)
    from critmat.data.cache import persistent

    key = ("report.section", build.__module__, build.__qualname__, origin)
    return persistent(kb, key, lambda: build(kb, a), origin=False)


def _source_titles(kb: KnowledgeBase) -> dict[str, str]:
    out = {}
    for r in kb.sources().itertuples(index=False):
        who = ", ".join(
            str(int(x) if isinstance(x, float) else x)
            for x in (r.publisher, r.year)
            if not _missing(x)
        )
        out[str(r.id)] = f"{r.title} ({who})" if who else str(r.title)
    return out


def _actions(report: Report, a: Assessment) -> tuple[pd.DataFrame | None, str]:
    """Recommended actions with their cost, from the decisions section of the report."""
    from critmat.report.executive import actions_from_section

    section = next((s for s in report.sections if s.key == "what_to_do"), None)
    names = dict(zip(a.table["material"], a.table["name"], strict=True))
    return actions_from_section(section, names)


def _executive(
    kb: KnowledgeBase,
    a: Assessment,
    report: Report,
    previous: str | Path | Mapping[str, Any] | None,
) -> None:
    """Put the executive summary first and fill the report's data and source titles."""
    from critmat.report.executive import executive_section, read_previous, report_data

    before = None
    if previous is not None:
        before = dict(previous) if isinstance(previous, Mapping) else read_previous(previous)
    actions, note = _actions(report, a)
    data = report_data(kb, a, actions=actions, actions_note=note)
    sources = [*_column_sources(a, *a.columns), *data["systems_sources"]]
    section = executive_section(data, previous=before, sources=sorted(set(sources)))
    report.sections.insert(0, section)
    report.data = data
    report.source_titles = _source_titles(kb)
