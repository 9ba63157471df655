"""Tables for the terminal: report table blocks and result frames as Rich tables.

The same :class:`~critmat.report.builder.Table` blocks that the HTML report shows are
printed here, with the same number formatter; only the medium differs (missing values as
``–``, true flags in bold red, long headings folded by Rich).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from critmat.report.builder import Table
from critmat.report.format import format_value, is_missing

__all__ = ["frame_table", "rich_table"]


def rich_table(
    table: Table, *, missing: str | None = "–", emphasise_flags: bool = True, **options: Any
) -> Any:
    """A Rich ``Table`` of a table block.

    Parameters
    ----------
    table
        The block (title, columns with labels and number styles, caption).
    missing
        Text of missing values (``None``: the block's own).
    emphasise_flags
        Show true flags (and emphasised cells) in bold red.
    **options
        Passed to ``rich.table.Table``.
    """
    from rich.markup import escape
    from rich.table import Table as RichTable

    shown = Table(
        table.frame,
        table.columns,
        table.title,
        table.caption,
        table.first_left,
        table.missing if missing is None else missing,
        table.marks,
    )
    out = RichTable(title=shown.title or None, header_style="bold", **options)
    specs = shown.specs()
    for i, spec in enumerate(specs.values()):
        left = i < shown.first_left
        out.add_column(
            escape(spec.label), justify="left" if left else "right", no_wrap=i == 0 and left
        )
    records = shown.frame.to_dict("records")
    for rec, row in zip(records, shown.rows(), strict=True):
        cells = []
        for col, (text, emphasis) in zip(specs, row, strict=True):
            value = rec[col]
            flag = isinstance(value, bool) and value
            cell = escape(text)
            if emphasise_flags and (flag or emphasis):
                stem, star = (cell[:-1], "*") if cell.endswith("*") else (cell, "")
                cell = f"[bold red]{stem}[/]{star}"
            cells.append(cell)
        out.add_row(*cells)
    if shown.caption:
        out.caption = shown.caption
    return out


def frame_table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int = 60) -> Any:
    """A Rich ``Table`` of a result frame (first ``max_rows`` rows, ``auto`` numbers).

    Numbers right-aligned, text left-aligned and folded; missing values empty.
    """
    from rich.table import Table as RichTable

    table = RichTable(title=title, show_lines=False, header_style="bold")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
            frame[col]
        )
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[_frame_cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = (
            f"{max_rows} of {len(frame):,} rows shown; "
            "use --format csv|json|parquet|xlsx --out FILE for all"
        )
    return table


def _frame_cell(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float | pd.Timestamp):  # numpy floats are floats
        return format_value(value)
    return str(value)  # flags keep Python's spelling (True/False), integers and text as is
