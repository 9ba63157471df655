"""Self-contained HTML report of the assessment (plotly inlined, no external requests)."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.report import charts

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["assessment_html", "write_assessment_report"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:right}
th{background:#f6f6f6;position:sticky;top:0}td.l,th.l{text-align:left}
.meta{color:#666;font-size:.9rem}.crit{color:#c0392b;font-weight:600}
details{margin:.5rem 0}code,pre{font-size:.8rem;background:#f6f6f6;padding:.1rem .3rem}
pre{padding:.6rem;overflow:auto;max-height:30rem}
"""


def _text(value: Any) -> str:
    """Text of a cell; empty for None/NaN/NA (pandas 3 stores missing text as NaN)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fmt(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "fraction":
            return f"{value:.1%}"
        return f"{value:.4f}" if abs(value) < 0.01 else f"{value:.2f}"
    return html.escape(str(value))


def _table(assessment: Assessment) -> str:
    cols = [c for c in assessment.columns if c in assessment.table.columns]
    head = "".join(
        f"<th class='{'l' if i == 0 else ''}' title='{html.escape(assessment.columns[c][2])}'>"
        f"{html.escape(assessment.columns[c][0])}</th>"
        for i, c in enumerate(cols)
    )
    rows = []
    for rec in assessment.table.to_dict("records"):
        cells = []
        for i, c in enumerate(cols):
            text = _fmt(rec[c], assessment.columns[c][1])
            cls = "l" if i == 0 else ""
            if c == "critical" and rec[c] is True:
                cls = "crit"
            if c == "critical" and rec.get("critical_basis") == "computed SR, published EI":
                text += "*"
            cells.append(f"<td class='{cls}'>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _sources(kb: KnowledgeBase, assessment: Assessment) -> str:
    cols = "".join(
        f"<tr><td class='l'>{html.escape(label)}</td><td class='l'>{html.escape(unit)}</td>"
        f"<td class='l'>{html.escape(method)}</td><td class='l'>"
        f"{', '.join(f'<code>{s}</code>' for s in srcs)}</td></tr>"
        for label, unit, method, srcs in assessment.columns.values()
    )
    used = set(assessment.provenance.get("sources", []))
    src = kb.sources()
    src = src[src["id"].isin(used)]
    items = "".join(
        f"<tr><td class='l'><code>{html.escape(r.id)}</code></td><td class='l'>"
        + (
            f"<a href='{html.escape(_text(r.url))}'>{html.escape(_text(r.title))}</a>"
            if _text(r.url)
            else html.escape(_text(r.title))
        )
        + f"</td><td class='l'>{html.escape(_text(r.publisher))}, {_text(r.year)}</td>"
        f"<td class='l'>{html.escape(_text(r.licence))}</td>"
        f"<td class='l'>{html.escape(_text(r.transcription))}</td></tr>"
        for r in src.itertuples(index=False)
    )
    prov = html.escape(json.dumps(assessment.provenance, indent=2, default=str))
    return (
        "<h3>Columns: method and sources</h3><table><thead><tr><th class='l'>column</th>"
        "<th class='l'>unit</th><th class='l'>method</th><th class='l'>sources</th></tr>"
        f"</thead><tbody>{cols}</tbody></table>"
        "<h3>Sources</h3><table><thead><tr><th class='l'>id</th><th class='l'>title</th>"
        "<th class='l'>publisher, year</th><th class='l'>licence</th><th class='l'>via</th>"
        f"</tr></thead><tbody>{items}</tbody></table>"
        f"<details><summary>Full provenance (JSON)</summary><pre>{prov}</pre></details>"
    )


def assessment_html(
    kb: KnowledgeBase, assessment: Assessment, extra_sections: list[tuple[str, str]] | None = None
) -> str:
    """Return the report as one self-contained HTML string.

    Parameters
    ----------
    kb
        Knowledge base (for the source list).
    assessment
        Result of :func:`critmat.assess.assess`.
    extra_sections
        Further ``(title, html)`` sections appended before the sources.
    """
    t = assessment.table
    figs = [
        charts.criticality_chart(t),
        charts.china_share_chart(t),
        charts.supply_shares_chart(assessment.shares),
        charts.geopolrisk_chart(t, assessment.importer, assessment.year),
    ]
    plots = [
        f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, f in enumerate(figs)
    ]
    n_crit = int(t["critical"].fillna(False).astype(bool).sum())
    n_china = int((t["china_processing"] >= 0.65).sum())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    extra = "".join(
        f"<h2>{html.escape(title)}</h2>{body}" for title, body in (extra_sections or [])
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>critmat assessment: {html.escape(assessment.importer)}</title>
<style>{_CSS}</style></head><body>
<h1>Defence raw-materials assessment: {html.escape(assessment.importer)}</h1>
<p class="meta">critmat {__version__}, dataset {kb.version} (hash {kb.catalog.content_hash}),
generated {stamp}. GeoPolRisk year {assessment.year}; EU method inputs of the 2023 study.</p>
<p>{len(t)} CRMA strategic and critical raw materials assessed; {n_crit} are critical by the
EU thresholds as computed by critmat; for {n_china} of them China holds 65 % or more of
global processing, the CRMA's single-country benchmark.</p>
<h2>Summary table</h2>{_table(assessment)}
<p class="meta">* economic importance not computable from the public tables (no end-use
shares): classified with critmat's SR and the published EI. Hover a column header for its
method; the sources section lists every input.</p>
<h2>Criticality matrix</h2>{plots[0]}
<h2>China share by stage</h2>{plots[1]}
<h2>Supply shares by stage and country</h2>{plots[2]}
<h2>GeoPolRisk</h2>{plots[3]}
{extra}
<h2>Sources and method</h2>{_sources(kb, assessment)}
</body></html>
"""


def write_assessment_report(
    kb: KnowledgeBase,
    assessment: Assessment,
    path: str | Path,
    extra_sections: list[tuple[str, str]] | None = None,
) -> Path:
    """Write the HTML report to ``path`` and return it."""
    p = Path(path)
    p.write_text(assessment_html(kb, assessment, extra_sections), encoding="utf-8")
    return p
