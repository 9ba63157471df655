"""Render a :class:`~critmat.report.builder.Report` as PDF: headless Chromium prints the HTML.

The PDF is the self-contained HTML page of :func:`critmat.report.html.render_html`
printed by Chromium (through Playwright's driver, which ships with the ``playwright``
wheel; no browser is downloaded): the plotly charts are drawn by plotly.js exactly as in
the HTML page, then printed on A4 with the print rules of :data:`PRINT_CSS` (the executive
summary on its own first page, no figure split over two pages).

Chromium is found in this order: the environment variable ``CRITMAT_CHROMIUM`` (a path to a
Chromium or Chrome executable), then ``chromium``, ``chromium-browser``, ``google-chrome``,
``google-chrome-stable`` on ``PATH``. Without one, :func:`render_pdf` stops with
:class:`~critmat.errors.RendererUnavailableError` saying how to install it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from critmat.errors import RendererUnavailableError
from critmat.report.builder import RENDERERS, Report

__all__ = ["CHROMIUM_ENV", "PRINT_CSS", "find_chromium", "html_to_pdf", "render_pdf"]

#: Environment variable naming the Chromium executable.
CHROMIUM_ENV = "CRITMAT_CHROMIUM"

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Print rules added to the page when it is printed (A4, 15 mm margins).
PRINT_CSS = """
@page{size:A4;margin:14mm 13mm 16mm 13mm}
@media print{
body{margin:0;max-width:none;padding:0;font-size:10pt}
h2{break-after:avoid}
.executive{break-after:page;font-size:9pt;padding:0 .6rem .4rem}
.executive table{font-size:7.5pt}.executive h3{margin:.5rem 0 .2rem}.executive p{margin:.3rem 0}
.js-plotly-plot,.plotly-graph-div,table,.figure-source{break-inside:avoid}
th{position:static}
pre{max-height:none;white-space:pre-wrap}
.modebar-container{display:none!important}
}
"""

#: Printable width of A4 at 96 px per inch with the margins above (plotly lays out to it).
_PRINT_WIDTH_PX = 745

_INSTALL = (
    "PDF reports are printed by headless Chromium, which was not found. Install it "
    "(Debian/Ubuntu: `sudo apt-get install chromium`; Fedora: `sudo dnf install chromium`; "
    "macOS: install Google Chrome) or set {env}=/path/to/chromium; or write the HTML report "
    "instead (--report FILE.html)."
)


def find_chromium() -> str:
    """Path of the Chromium (or Chrome) executable used for PDF.

    Raises
    ------
    critmat.errors.RendererUnavailableError
        No executable found (with how to install one), or ``CRITMAT_CHROMIUM`` names a
        file that does not exist.
    """
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        path = shutil.which(named) or (named if Path(named).is_file() else None)
        if path is None:
            raise RendererUnavailableError(
                f"{CHROMIUM_ENV}={named} is not an executable file; point it at a Chromium "
                "or Chrome binary (e.g. /usr/bin/chromium) or unset it"
            )
        return path
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RendererUnavailableError(_INSTALL.format(env=CHROMIUM_ENV))


def _with_print_css(page: str) -> str:
    return page.replace("</head>", f"<style>{PRINT_CSS}</style></head>", 1)


def html_to_pdf(page: str, *, timeout_s: float = 60.0) -> bytes:
    """Print an HTML page with headless Chromium (A4, backgrounds, plotly drawn first).

    Parameters
    ----------
    page
        A complete, self-contained HTML document (no network access is needed or made:
        requests leaving the page are blocked).
    timeout_s
        Longest wait for the page and its charts.

    Raises
    ------
    critmat.errors.RendererUnavailableError
        Chromium or the ``playwright`` package is missing, or Chromium fails to start.
    """
    executable = find_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RendererUnavailableError(
            "PDF reports need the Python package 'playwright' (it drives Chromium; no "
            "browser download is needed): pip install 'playwright>=1.40'"
        ) from None
    timeout_ms = timeout_s * 1000
    try:
        with sync_playwright() as pw:
            try:
                browser = pw.chromium.launch(executable_path=executable, timeout=timeout_ms)
            except PlaywrightError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise RendererUnavailableError(
                    f"Chromium at {executable} did not start ({first}); check the "
                    f"installation or set {CHROMIUM_ENV} to another executable"
                ) from None
            try:
                tab = browser.new_page(viewport={"width": _PRINT_WIDTH_PX, "height": 1100})
                tab.route("http*://**", lambda route: route.abort())  # offline by design
                tab.set_content(_with_print_css(page), wait_until="load", timeout=timeout_ms)
                tab.wait_for_function(
                    "() => [...document.querySelectorAll('.plotly-graph-div')]"
                    ".every(d => d.querySelector('.main-svg'))",
                    timeout=timeout_ms,
                )
                tab.emulate_media(media="print")
                pdf: bytes = tab.pdf(
                    format="A4",
                    print_background=True,
                    prefer_css_page_size=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=(
                        "<div style='font-size:7pt;color:#777;width:100%;text-align:center'>"
                        "<span class='title'></span> - page <span class='pageNumber'></span>"
                        " of <span class='totalPages'></span></div>"
                    ),
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RendererUnavailableError(f"printing the report with Chromium failed: {exc}") from None
    return pdf


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (the HTML page printed by Chromium)."""
    from critmat.report.html import render_html

    return html_to_pdf(render_html(report))


RENDERERS["pdf"] = render_pdf
