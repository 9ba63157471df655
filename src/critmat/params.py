"""The shared parameter vocabulary: materials, countries, years and stage selections.

Every indicator, accessor, CLI command and API route takes the same selections with the same
meaning. ``None`` or ``"all"`` means no restriction.

Examples
--------
>>> parse_years("2018-2020")
[2018, 2019, 2020]
>>> parse_years([2022, 2020])
[2020, 2022]
>>> split_list("gallium, germanium")
['gallium', 'germanium']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from critmat.errors import ParameterError

__all__ = ["ParameterError", "Selection", "is_all", "parse_years", "split_list"]

Selection = str | Iterable[str] | None


def is_all(value: object) -> bool:
    """Return True for ``None``, ``"all"``, ``"*"`` or an empty selection."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("", "all", "*")
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) == 0 or (len(value) == 1 and is_all(next(iter(value))))
    return False


def split_list(value: Selection) -> list[str] | None:
    """Turn ``"a,b"`` or ``["a", "b,c"]`` into ``["a", "b", "c"]``; ``None`` for all."""
    if is_all(value):
        return None
    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    return out or None


def parse_years(value: int | str | Iterable[int | str] | None) -> list[int] | None:
    """Parse a year selection: ``2022``, ``"2018-2022"``, ``"2018:2022"``, a list, or all.

    Raises
    ------
    ParameterError
        For text that is not a year or a range, or a range that runs backwards.
    """
    if is_all(value):
        return None
    items: list[int | str] = (
        [value] if isinstance(value, int | str) else list(value)  # type: ignore[arg-type]
    )
    years: set[int] = set()
    for item in items:
        for part in str(item).split(","):
            text = part.strip()
            if not text:
                continue
            m = re.fullmatch(r"(\d{4})\s*(?:-|:|\.\.)\s*(\d{4})", text)
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                if b < a:
                    raise ParameterError(f"year range '{text}' runs backwards; write {b}-{a}")
                years.update(range(a, b + 1))
            elif re.fullmatch(r"\d{4}", text):
                years.add(int(text))
            else:
                raise ParameterError(
                    f"'{text}' is not a year; expected e.g. 2022, 2018-2022 or 2018,2020"
                )
    return sorted(years) or None
