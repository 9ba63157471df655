"""The report builder: a :class:`Report` is made of sections (:class:`Section`) of blocks.

A section holds a title, blocks (:class:`Text`, :class:`Table`, :class:`Figure`,
:class:`Details`, :class:`Html`) and the source ids it rests on; a report holds sections,
a title and a subtitle. Renderers turn a report into a document: HTML today
(:func:`critmat.report.html.render_html`, one self-contained file), others register in
:data:`RENDERERS` (a PDF renderer printing the HTML with headless Chromium or WeasyPrint,
say) without any section changing. A package contributes to a report by building a
``Section`` in its report module (``critmat/report/<package>.py``: drawing belongs to the
report layer) and adding it (:meth:`Report.add`, or the section builders of
:func:`critmat.report.assessment.assessment_report`).

Examples
--------
>>> import pandas as pd
>>> t = Table(pd.DataFrame({"material": ["gallium"], "china_share": [0.938]}),
...           columns={"material": Column("Material"), "china_share": Column("China", "percent")})
>>> t.cells()
[['gallium', '94%']]
>>> r = Report("Example", sections=[Section("Shares", [Text("China's share."), t])])
>>> [s.title for s in r.sections], r.tables()[0].labels()
(['Shares'], ['Material', 'China'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.errors import ParameterError, closest
from critmat.report.format import STYLES, format_value

__all__ = [
    "RENDERERS",
    "Block",
    "Column",
    "Details",
    "Figure",
    "Html",
    "Report",
    "Section",
    "Table",
    "Text",
    "load_renderers",
]


@dataclass(frozen=True)
class Column:
    """How a table shows one column.

    Attributes
    ----------
    label
        Heading.
    style
        Number style (:data:`critmat.report.format.STYLES`).
    description
        Hover text of the heading (what the column holds, its method).
    """

    label: str
    style: str = "auto"
    description: str = ""

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            hint = closest(self.style, list(STYLES))
            raise ParameterError(
                f"unknown number style '{self.style}' for column '{self.label}'; expected "
                f"one of {', '.join(STYLES)}" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )


@dataclass
class Text:
    """A paragraph of plain text (escaped by the renderer); ``meta`` for small print."""

    text: str
    meta: bool = False


@dataclass
class Html:
    """Trusted HTML written by critmat (escape hatch for a renderer-specific fragment)."""

    html: str


@dataclass
class Figure:
    """A plotly figure (``plotly.graph_objects.Figure``).

    Attributes
    ----------
    figure
        The figure.
    title
        Optional heading.
    sources
        Source ids the figure is drawn from; renderers print them (with their titles, from
        :attr:`Report.source_titles`) below the figure. Empty: the section's sources.
    """

    figure: Any
    title: str = ""
    sources: list[str] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle a plotly figure as its plain properties (see :func:`_figure_block`)."""
        to_dict = getattr(self.figure, "to_dict", None)
        if not callable(to_dict) or not hasattr(self.figure, "_grid_ref"):
            return (Figure, (self.figure, self.title, list(self.sources)))
        props = {
            "props": to_dict(),
            "grid_str": self.figure._grid_str,
            "grid_ref": self.figure._grid_ref,
        }
        return (_figure_block, (props, self.title, list(self.sources)))


def _figure_block(props: dict[str, Any], title: str, sources: list[str]) -> Figure:
    """A :class:`Figure` block read back from its pickle (the kept results).

    The figure is rebuilt from the properties plotly produced when it was built, and so
    validated then; validating them again (what unpickling a plotly figure does) would take
    most of the time of reading a kept report. Changes made to it later are validated as
    usual.
    """
    import plotly.graph_objects as go

    fig = go.Figure(props["props"], _validate=False)
    fig._validate = True
    fig._grid_str = props["grid_str"]
    fig._grid_ref = props["grid_ref"]
    return Figure(fig, title, sources)


@dataclass
class Table:
    """A table of a result frame.

    Attributes
    ----------
    frame
        The rows.
    columns
        ``{column: Column}`` in display order (default: every column, ``auto`` style).
    title
        Heading above the table.
    caption
        Small print below it.
    first_left
        How many leading columns are left-aligned text.
    missing
        Text of a missing value.
    marks
        ``{column: function(row) -> (suffix, emphasis)}``: a suffix appended to a cell
        (e.g. ``*``) and whether to emphasise it (e.g. a critical flag), per row.
    """

    frame: pd.DataFrame
    columns: Mapping[str, Column] | None = None
    title: str = ""
    caption: str = ""
    first_left: int = 1
    missing: str = ""
    marks: Mapping[str, Callable[[Mapping[str, Any]], tuple[str, bool]]] = field(
        default_factory=dict
    )

    def specs(self) -> dict[str, Column]:
        """Shown columns and their specs (columns missing from the frame are left out)."""
        if self.columns is None:
            return {str(c): Column(str(c)) for c in self.frame.columns}
        return {c: spec for c, spec in self.columns.items() if c in self.frame.columns}

    def labels(self) -> list[str]:
        """Headings of the shown columns."""
        return [spec.label for spec in self.specs().values()]

    def rows(self) -> list[list[tuple[str, bool]]]:
        """``(text, emphasised)`` of every shown cell, row by row."""
        specs = self.specs()
        out = []
        for rec in self.frame.to_dict("records"):
            row = []
            for col, spec in specs.items():
                text = format_value(rec[col], spec.style, missing=self.missing)
                emphasis = False
                if col in self.marks:
                    suffix, emphasis = self.marks[col](rec)
                    text += suffix
                row.append((text, emphasis))
            out.append(row)
        return out

    def cells(self) -> list[list[str]]:
        """Text of every shown cell, row by row."""
        return [[text for text, _ in row] for row in self.rows()]


@dataclass
class Details:
    """A collapsible block: a summary line and blocks shown on demand."""

    summary: str
    blocks: list[Block] = field(default_factory=list)


Block = Text | Html | Figure | Table | Details


@dataclass
class Section:
    """One section of a report.

    Attributes
    ----------
    title
        Heading.
    blocks
        Content, in order.
    sources
        Source ids (datapackage sources, user imports) the section rests on; a report's
        sources section lists the union.
    key
        Stable identifier (for renderers, tables of contents, executive summaries).
    """

    title: str
    blocks: list[Block] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    key: str = ""

    def add(self, *blocks: Block) -> Section:
        """Append blocks; returns the section."""
        self.blocks.extend(blocks)
        return self


#: Renderers by format name: ``function(report) -> str | bytes``.
RENDERERS: dict[str, Callable[[Report], str | bytes]] = {}


def load_renderers() -> dict[str, Callable[[Report], str | bytes]]:
    """Register critmat's own renderers (HTML, PDF) and return :data:`RENDERERS`.

    Importing the renderer modules is cheap (plotly, Playwright load only when used).
    """
    import critmat.report.html
    import critmat.report.pdf  # noqa: F401

    return RENDERERS


@dataclass
class Report:
    """A document made of sections, rendered to one self-contained file.

    Attributes
    ----------
    title
        Document title.
    subtitle
        Small print under the title (versions, dataset, date).
    sections
        Sections in order.
    provenance
        Provenance records shown or embedded by renderers.
    source_titles
        ``{source id: "title (publisher, year)"}`` for the source lines under figures.
    data
        Machine-readable summary of the report (written next to it as ``FILE.json``; the
        ``--previous`` input of the next report's "what changed").
    """

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    source_titles: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, section: Section | None) -> Report:
        """Append a section (``None`` is skipped: a builder with nothing to say)."""
        if section is not None:
            self.sections.append(section)
        return self

    def extend(self, sections: Iterable[Section | None]) -> Report:
        """Append several sections."""
        for s in sections:
            self.add(s)
        return self

    def section(self, key: str) -> Section:
        """The section with ``key`` (or title).

        Raises
        ------
        critmat.errors.ParameterError
            With the keys of the report.
        """
        for s in self.sections:
            if key in (s.key, s.title):
                return s
        keys = [s.key or s.title for s in self.sections]
        raise ParameterError(f"no section '{key}' in the report; sections: {', '.join(keys)}")

    def sources(self) -> list[str]:
        """Source ids of every section."""
        return sorted({sid for s in self.sections for sid in s.sources})

    def tables(self) -> list[Table]:
        """Every table of the report (in details too), in order."""
        out: list[Table] = []

        def walk(blocks: Iterable[Block]) -> None:
            for b in blocks:
                if isinstance(b, Table):
                    out.append(b)
                elif isinstance(b, Details):
                    walk(b.blocks)

        for s in self.sections:
            walk(s.blocks)
        return out

    def render(self, fmt: str = "html") -> str | bytes:
        """Render the report (``html``, or a format a renderer registered).

        Raises
        ------
        critmat.errors.ParameterError
            For a format without a renderer.
        """
        load_renderers()
        if fmt not in RENDERERS:
            hint = closest(fmt, list(RENDERERS))
            raise ParameterError(
                f"no renderer for '{fmt}'; formats: {', '.join(sorted(RENDERERS))}"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        return RENDERERS[fmt](self)

    def write(self, path: str | Path, fmt: str | None = None) -> Path:
        """Render to ``path`` (format from ``fmt`` or the suffix, default HTML)."""
        p = Path(path)
        kind = fmt or {".html": "html", ".htm": "html"}.get(
            p.suffix.lower(), p.suffix[1:] or "html"
        )
        out = self.render(kind)
        if isinstance(out, bytes):
            p.write_bytes(out)
        else:
            p.write_text(out, encoding="utf-8")
        return p
