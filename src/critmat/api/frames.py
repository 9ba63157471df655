"""Result frames as HTTP responses: JSON tidy records with units and provenance, CSV, Parquet.

The format comes from ``?format=`` (``json``, ``csv``, ``parquet``) or else from the
``Accept`` header (``text/csv``, ``application/vnd.apache.parquet``; anything else is JSON).
Large frames are paginated (``?page=1&page_size=1000``): JSON says ``total``, ``pages`` and
the ``next`` page; CSV and Parquet carry the same in ``X-Total-Count``, ``X-Page`` and
``Link`` headers. The column metadata is :func:`critmat.output.sidecar`'s, i.e. the
descriptions and units of :mod:`critmat.columns`, as in the files the CLI writes.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from critmat.errors import ParameterError
from critmat.output import sidecar
from critmat.params import param

__all__ = [
    "MEDIA",
    "frame_response",
    "json_records",
    "pick_format",
    "response_schema",
]

#: Media types of the formats.
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}

#: The ``format`` parameter of the API (the CLI's definition, restricted to HTTP formats).
API_FORMAT = param(
    "format",
    choices=("json", "csv", "parquet"),
    help="Response format (else from the Accept header: text/csv, "
    "application/vnd.apache.parquet, JSON otherwise).",
    default_text="from the Accept header, else json",
)


def pick_format(fmt: str | None, accept: str | None) -> str:
    """The response format from ``?format=`` or the ``Accept`` header.

    Raises
    ------
    critmat.errors.ParameterError
        For a ``format`` that is not json, csv or parquet.
    """
    if fmt is not None:
        API_FORMAT.check(fmt)
        return fmt
    text = (accept or "").lower()
    if "text/csv" in text:
        return "csv"
    if "parquet" in text:
        return "parquet"
    return "json"


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, np.ndarray | list | tuple):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, str | int):
        return value
    return str(value)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dictionaries (NaN, NA and infinities become null)."""
    cols = [str(c) for c in frame.columns]
    values = frame.astype(object).to_numpy()
    return [dict(zip(cols, (_cell(v) for v in row), strict=True)) for row in values]


def _page(frame: pd.DataFrame, page: int, page_size: int) -> tuple[pd.DataFrame, int, int]:
    total = len(frame)
    pages = max(1, math.ceil(total / page_size))
    if page > pages:
        raise ParameterError(
            f"page {page} is past the last page ({pages} pages of {page_size} rows, "
            f"{total} rows); expected page between 1 and {pages}"
        )
    start = (page - 1) * page_size
    return frame.iloc[start : start + page_size], total, pages


def _link(url: str, page: int) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(page)))
    # in name order (repeated names keep theirs): the same link for the same question, however
    # its parameters were ordered (stored answers are shared by such requests)
    query.sort(key=lambda kv: kv[0])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def frame_response(
    frame: pd.DataFrame,
    *,
    fmt: str,
    page: int,
    page_size: int,
    url: str,
    extra: dict[str, Any] | None = None,
) -> Any:
    """The HTTP response of one page of ``frame`` in ``fmt``."""
    from fastapi.responses import Response

    part, total, pages = _page(frame, page, page_size)
    nxt = _link(url, page + 1) if page < pages else None
    headers = {"X-Total-Count": str(total), "X-Page": str(page), "X-Pages": str(pages)}
    if nxt is not None:
        headers["Link"] = f'<{nxt}>; rel="next"'
    if fmt == "csv":
        return Response(part.to_csv(index=False), media_type=MEDIA["csv"], headers=headers)
    if fmt == "parquet":
        buf = io.BytesIO()
        safe = part.copy()
        safe.attrs = {}
        safe.to_parquet(buf, index=False)
        return Response(buf.getvalue(), media_type=MEDIA["parquet"], headers=headers)
    meta = sidecar(frame) or {}
    body: dict[str, Any] = {
        "result": meta.get("result"),
        "columns": meta.get("columns", {}),
        "units": meta.get("units", {}),
        "provenance": {k: v for k, v in meta.items() if k not in ("columns", "result")},
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": pages,
        "next": nxt,
        **(extra or {}),
        "records": json_records(part),
    }
    text = json.dumps(_cell(body), ensure_ascii=False, allow_nan=False, default=str)
    return Response(text, media_type=MEDIA["json"], headers=headers)


def response_schema(family: str | None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry of a frame endpoint (row schema from the column metadata)."""
    row: dict[str, Any] = {"type": "object"}
    if family is not None:
        from critmat.columns import json_schema

        row = json_schema(family)
    schema = {
        "type": "object",
        "properties": {
            "result": {"type": ["string", "null"], "description": "Result family"},
            "columns": {
                "type": "object",
                "description": "Description, unit and allowed values of each column",
            },
            "units": {"type": "object", "description": "Unit of each numeric column"},
            "provenance": {
                "type": "object",
                "description": "Dataset version and hash, sources, method, parameters, "
                "user imports",
            },
            "total": {"type": "integer", "description": "Rows of the whole result"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "pages": {"type": "integer"},
            "next": {"type": ["string", "null"], "description": "URL of the next page"},
            "records": {"type": "array", "items": row},
        },
        "required": ["records", "total", "page", "provenance"],
    }
    return {
        200: {
            "description": "The result: tidy records with units and provenance (JSON), or "
            "CSV / Parquet (?format= or the Accept header).",
            "content": {
                "application/json": {"schema": schema},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }
