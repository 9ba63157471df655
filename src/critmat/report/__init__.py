"""All drawing of critmat: figures, tables, HTML pages, number formatting for people.

* :mod:`~critmat.report.builder`: :class:`Report`, :class:`Section` and their blocks;
  renderers by format (:data:`~critmat.report.builder.RENDERERS`);
* :mod:`~critmat.report.format`: the one number formatter;
* :mod:`~critmat.report.html`: the HTML renderer and the one style sheet;
* :mod:`~critmat.report.terminal`: Rich tables for the terminal;
* :mod:`~critmat.report.charts`, :mod:`~critmat.report.defence`,
  :mod:`~critmat.report.scenario`: figures and sections of each package;
* :mod:`~critmat.report.assessment`: the report of the main job
  (:func:`assessment_report`);
* :mod:`~critmat.report.executive`: its one-page executive summary, the report's data file
  and "what changed" since an earlier one;
* :mod:`~critmat.report.pdf`: the PDF renderer (the HTML page printed by headless
  Chromium); :mod:`~critmat.report.writer`: writes a report with its HTML twin and data file;
* :mod:`~critmat.report.dashboard`: the figures of the dashboard (:mod:`critmat.web`).

Computation stays in the domain packages; this package only draws what they return.
Nothing heavy (plotly) is imported until a figure is drawn.
"""

from __future__ import annotations

from critmat.binding import lazy_exports

__all__ = [
    "Column",
    "Details",
    "Figure",
    "Html",
    "Report",
    "Section",
    "Table",
    "Text",
    "assessment_report",
    "format_value",
]

_WHERE = {
    "Column": "critmat.report.builder",
    "Details": "critmat.report.builder",
    "Figure": "critmat.report.builder",
    "Html": "critmat.report.builder",
    "Report": "critmat.report.builder",
    "Section": "critmat.report.builder",
    "Table": "critmat.report.builder",
    "Text": "critmat.report.builder",
    "assessment_report": "critmat.report.assessment",
    "format_value": "critmat.report.format",
}


__getattr__, __dir__ = lazy_exports("critmat.report", _WHERE, __all__)
