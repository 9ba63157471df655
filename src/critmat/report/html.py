"""Render a :class:`~critmat.report.builder.Report` as one self-contained HTML page.

plotly.js is inlined once (no CDN, no external request), with the one style sheet of
critmat (:data:`CSS`); tables use the one number formatter
(:func:`critmat.report.format.format_value`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from critmat.report.builder import (
    RENDERERS,
    Block,
    Details,
    Figure,
    Html,
    Report,
    Table,
    Text,
)

__all__ = ["CSS", "render_html", "source_line", "table_html"]

#: The style sheet of every critmat HTML page.
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:right}
th{background:#f6f6f6;position:sticky;top:0}td.l,th.l{text-align:left}
.meta{color:#666;font-size:.9rem}.crit{color:#c0392b;font-weight:600}
details{margin:.5rem 0}code,pre{font-size:.8rem;background:#f6f6f6;padding:.1rem .3rem}
pre{padding:.6rem;overflow:auto;max-height:30rem}
.executive{border:1px solid #ddd;padding:.2rem 1rem 1rem;background:#fcfcfc}
.executive h3{margin:.8rem 0 .3rem;font-size:1rem}.executive table{font-size:.8rem}
"""


def table_html(table: Table) -> str:
    """One table block as HTML (headings with their descriptions as hover text)."""
    specs = table.specs()
    head = "".join(
        f"<th class='{'l' if i < table.first_left else ''}'"
        + (f" title='{html.escape(spec.description)}'" if spec.description else "")
        + f">{html.escape(spec.label)}</th>"
        for i, spec in enumerate(specs.values())
    )
    rows = []
    for row in table.rows():
        cells = []
        for i, (text, emphasis) in enumerate(row):
            cls = "crit" if emphasis else ("l" if i < table.first_left else "")
            cells.append(f"<td class='{cls}'>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    out = ""
    if table.title:
        out += f"<h3>{html.escape(table.title)}</h3>"
    out += f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if table.caption:
        out += f"<p class='meta'>{html.escape(table.caption)}</p>"
    return out


def source_line(ids: Iterable[str], titles: dict[str, str]) -> str:
    """The "Sources: ..." line of a figure (titles where known, then the ids)."""
    shown = [f"{titles[i]} [{i}]" if i in titles else i for i in dict.fromkeys(ids)]
    return "Sources: " + "; ".join(shown) + "." if shown else ""


class _Page:
    """Renders blocks; inlines plotly.js with the first figure only."""

    def __init__(self, titles: dict[str, str] | None = None) -> None:
        self.plotly_included = False
        self.titles = titles or {}
        self.section_sources: list[str] = []

    def figure(self, block: Figure) -> str:
        include = not self.plotly_included
        self.plotly_included = True
        out: str = block.figure.to_html(
            full_html=False, include_plotlyjs=include, config={"displaylogo": False}
        )
        line = source_line(block.sources or self.section_sources, self.titles)
        if line:
            out += f"<p class='meta figure-source'>{html.escape(line)}</p>"
        return out

    def blocks(self, blocks: Iterable[Block]) -> str:
        parts: list[str] = []
        for b in blocks:
            if isinstance(b, Text):
                cls = " class='meta'" if b.meta else ""
                parts.append(f"<p{cls}>{html.escape(b.text)}</p>")
            elif isinstance(b, Html):
                parts.append(b.html)
            elif isinstance(b, Figure):
                parts.append(self.figure(b))
            elif isinstance(b, Table):
                parts.append(table_html(b))
            elif isinstance(b, Details):
                parts.append(
                    f"<details><summary>{html.escape(b.summary)}</summary>"
                    f"{self.blocks(b.blocks)}</details>"
                )
        return "".join(parts)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    page = _Page(report.source_titles)
    sections = []
    for s in report.sections:
        anchor = f" id='{html.escape(s.key)}'" if s.key else ""
        page.section_sources = list(s.sources)
        body = f"<h2{anchor}>{html.escape(s.title)}</h2>{page.blocks(s.blocks)}"
        sections.append(f"<section class='{html.escape(s.key)}'>{body}</section>")
    body = "\n".join(sections)
    subtitle = f"<p class='meta'>{html.escape(report.subtitle)}</p>" if report.subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style></head><body>\n"
        f"<h1>{html.escape(report.title)}</h1>\n{subtitle}\n{body}\n</body></html>\n"
    )


RENDERERS["html"] = render_html
