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

__all__ = ["render_files", "report_format", "write_report"]

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


def render_files(report: Report, path: str | Path) -> list[tuple[Path, str | bytes]]:
    """The files of ``report`` for ``path`` and their contents, rendered, nothing written.

    Raises
    ------
    critmat.errors.OutputError
        Unknown suffix.
    critmat.errors.RendererUnavailableError
        PDF asked and Chromium is not installed.
    """
    p = Path(path)
    kind = report_format(p)
    from critmat.report.html import render_html

    files: list[tuple[Path, str | bytes]] = []
    if kind == "pdf":
        from critmat.report.pdf import html_to_pdf

        page = render_html(report)
        files.append((p, html_to_pdf(page)))  # first: if Chromium is missing nothing is written
        files.append((p.with_suffix(".html"), page))
    elif kind == "html":
        files.append((p, render_html(report)))
    else:
        files.append((p, report.render(kind)))
    if report.data:
        files.append((p.with_suffix(".json"), json.dumps(report.data, indent=1, default=str)))
    return files


def write_report(report: Report, path: str | Path) -> list[Path]:
    """Render ``report`` to ``path`` and write its companions; returns the paths written.

    The library call; the CLI writes through :func:`critmat.output.write_report` (the one
    output writer: no overwrite without ``--force``, atomic, folders created).

    Raises
    ------
    critmat.errors.OutputError
        Unknown suffix, or a destination that cannot be written.
    critmat.errors.RendererUnavailableError
        PDF asked and Chromium is not installed (nothing is written then).
    """
    p = Path(path)
    report_format(p)
    if not p.parent.exists():
        raise OutputError(f"cannot write a report to {p}: the folder {p.parent} does not exist")
    written: list[Path] = []
    for target, body in render_files(report, p):
        if isinstance(body, bytes):
            target.write_bytes(body)
        else:
            target.write_text(body, encoding="utf-8")
        written.append(target)
    return written
