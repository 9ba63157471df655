"""Write a report to disk: the document, its HTML twin for a PDF, and its data file.

``write_report(report, "x.pdf")`` writes ``x.pdf`` (printed by Chromium), ``x.html`` (the
same report as one self-contained page) and ``x.json`` (:attr:`Report.data`, the input of
the next report's ``--previous``); ``x.html`` writes ``x.html`` and ``x.json``. The format
comes from the suffix; a suffix without a renderer is an error naming the valid ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from critmat.errors import OutputError
from critmat.report.builder import Report, load_renderers

__all__ = ["report_format", "write_report"]

_SUFFIX = {".html": "html", ".htm": "html", ".pdf": "pdf"}


def report_format(path: str | Path) -> str:
    """The renderer of a report path, from its suffix.

    Raises
    ------
    critmat.errors.OutputError
        A suffix no renderer handles (with the valid suffixes).
    """
    p = Path(path)
    renderers = load_renderers()
    kind = _SUFFIX.get(p.suffix.lower(), p.suffix.lower().lstrip("."))
    if kind not in renderers:
        valid = ", ".join(f".{k}" for k in sorted(renderers))
        raise OutputError(
            f"cannot write a report to {p}: unknown suffix '{p.suffix or '(none)'}'; valid: {valid}"
        )
    return kind


def write_report(report: Report, path: str | Path) -> list[Path]:
    """Render ``report`` to ``path`` and write its companions; returns the paths written.

    Raises
    ------
    critmat.errors.OutputError
        Unknown suffix, or a destination that cannot be written.
    critmat.errors.RendererUnavailableError
        PDF asked and Chromium is not installed (nothing is written then).
    """
    p = Path(path)
    kind = report_format(p)
    if not p.parent.exists():
        raise OutputError(f"cannot write a report to {p}: the folder {p.parent} does not exist")
    from critmat.report.html import render_html

    page = render_html(report)
    written: list[Path] = []
    if kind == "pdf":
        from critmat.report.pdf import html_to_pdf

        pdf = html_to_pdf(page)  # first: if Chromium is missing nothing is written
        p.write_bytes(pdf)
        written.append(p)
        twin = p.with_suffix(".html")
        twin.write_text(page, encoding="utf-8")
        written.append(twin)
    elif kind == "html":
        p.write_text(page, encoding="utf-8")
        written.append(p)
    else:
        out = report.render(kind)
        if isinstance(out, bytes):
            p.write_bytes(out)
        else:
            p.write_text(out, encoding="utf-8")
        written.append(p)
    if report.data:
        side = p.with_suffix(".json")
        side.write_text(json.dumps(report.data, indent=1, default=str), encoding="utf-8")
        written.append(side)
    return written
