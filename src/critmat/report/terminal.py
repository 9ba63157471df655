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

__all__ = ["fit_columns", "frame_table", "rich_table"]


def _need(header: str, cells: list[str]) -> int:
    """Width a column needs: its widest cell and its longest header word (headers fold)."""
    words = [len(w) for w in header.split()] or [0]
    return max([max(words), *(len(c) for c in cells)]) + 3  # padding and the border


def fit_columns(
    headers: list[str], cells: list[list[str]], width: int | None, *, keep: int = 1
) -> list[int]:
    """Indices of the columns that fit in ``width`` characters, in order.

    Columns are kept from the left (the first ``keep`` always) while their widths fit; the
    others are left out, so a table at 80 columns shows whole values instead of ``10…``.
    ``None`` keeps every column.
    """
    n = len(headers)
    if width is None:
        return list(range(n))
    need = [_need(h, [row[i] for row in cells]) for i, h in enumerate(headers)]
    chosen: list[int] = []
    used = 1  # the left border
    for i in range(n):
        if i < keep or used + need[i] <= width:
            chosen.append(i)
            used += need[i]
    return chosen


def _left_out(headers: list[str], chosen: list[int]) -> str:
    out = [h for i, h in enumerate(headers) if i not in chosen]
    if not out:
        return ""
    return (
        f"{len(out)} column{'s' if len(out) != 1 else ''} left out at this width "
        f"({', '.join(out)}): widen the terminal, set COLUMNS, or use --format csv"
    )


def rich_table(
    table: Table,
    *,
    missing: str | None = "–",
    emphasise_flags: bool = True,
    width: int | None = None,
    **options: Any,
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
    width
        Characters available: columns that do not fit are left out (and named in the
        caption) rather than squeezed; ``None``: all columns.
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
    records = shown.frame.to_dict("records")
    rows = list(shown.rows())
    labels = [spec.label for spec in specs.values()]
    chosen = fit_columns(labels, [[text for text, _ in row] for row in rows], width, keep=1)
    keys = list(specs)
    texts = [[text for text, _ in row] for row in rows]
    for i in chosen:
        left = i < shown.first_left
        out.add_column(
            escape(labels[i]),
            justify="left" if left else "right",
            no_wrap=i == 0 and left,
            width=_need(labels[i], [r[i] for r in texts]) - 3 if width else None,
        )
    for rec, row in zip(records, rows, strict=True):
        cells = []
        for i in chosen:
            col, (text, emphasis) = keys[i], row[i]
            value = rec[col]
            flag = isinstance(value, bool) and value
            cell = escape(text)
            if emphasise_flags and (flag or emphasis):
                stem, star = (cell[:-1], "*") if cell.endswith("*") else (cell, "")
                cell = f"[bold red]{stem}[/]{star}"
            cells.append(cell)
        out.add_row(*cells)
    caption = " ".join(t for t in (shown.caption, _left_out(labels, chosen)) if t)
    if caption:
        out.caption = caption
    return out


def frame_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    max_rows: int = 60,
    width: int | None = None,
) -> Any:
    """A Rich ``Table`` of a result frame (first ``max_rows`` rows, ``auto`` numbers).

    Numbers right-aligned, text left-aligned and folded; missing values empty. With
    ``width``, columns that do not fit are left out and named in the caption.
    """
    from rich.table import Table as RichTable

    table = RichTable(title=title, show_lines=False, header_style="bold")
    head = frame.head(max_rows)
    headers = [str(c) for c in frame.columns]
    cells = [[_frame_cell(v) for v in row] for row in head.itertuples(index=False)]
    # long text folds: it counts at most 16 characters (28 in the first, naming column)
    clipped = [[c[: 28 if i == 0 else 16] for i, c in enumerate(row)] for row in cells]
    chosen = fit_columns(headers, clipped, width)
    widths = {i: _need(headers[i], [r[i] for r in clipped]) for i in chosen}
    if width is not None:  # the room left goes to folded text, the shortest first (whole)
        spare = width - 1 - sum(widths.values())
        full = {i: _need(headers[i], [r[i] for r in cells]) for i in chosen}
        for i in sorted(chosen, key=lambda i: full[i] - widths[i]):
            extra = max(0, min(spare, full[i] - widths[i]))
            widths[i] += extra
            spare -= extra
    for i in chosen:
        col = frame.columns[i]
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
            frame[col]
        )
        table.add_column(
            headers[i],
            justify="right" if numeric else "left",
            overflow="fold",
            width=widths[i] - 3 if width else None,
        )
    for row in cells:
        table.add_row(*[row[i] for i in chosen])
    notes = []
    if len(frame) > max_rows:
        notes.append(
            f"{max_rows} of {len(frame):,} rows shown; "
            "use --format csv|json|parquet|xlsx --out FILE for all"
        )
    left_out = _left_out(headers, chosen)
    if left_out:
        notes.append(left_out)
    if notes:
        table.caption = "; ".join(notes)
    return table


def _frame_cell(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float | pd.Timestamp):  # numpy floats are floats
        return format_value(value)
    return str(value)  # flags keep Python's spelling (True/False), integers and text as is
