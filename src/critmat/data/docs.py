"""Render the data dictionary (docs/data-dictionary.md) from ``datapackage.json``.

The documentation of tables and fields is generated from the same descriptor that drives
validation, so the two cannot drift apart (a test compares the committed file with a fresh
rendering).
"""

from __future__ import annotations

from critmat.data.catalog import Catalog

__all__ = ["render_data_dictionary"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_data_dictionary(catalog: Catalog | None = None) -> str:
    """Return the Markdown data dictionary of every table, field and source."""
    cat = catalog or Catalog.load()
    lines = [
        "# Data dictionary",
        "",
        f"Generated from `datapackage.json` (dataset {cat.version}, content hash "
        f"`{cat.content_hash}`) by `python -m critmat.data.docs`. Do not edit by hand.",
        "",
        "| table | rows | years | title |",
        "|---|---:|---|---|",
    ]
    for spec in cat.tables.values():
        years = spec.stats.get("years")
        lines.append(
            f"| [{spec.name}](#{spec.name.replace('_', '-')}) | "
            f"{spec.stats.get('rows', 0):,} | "
            f"{f'{years[0]}-{years[1]}' if years else ''} | {_cell(spec.title)} |"
        )
    for spec in cat.tables.values():
        lines += [
            "",
            f"## {spec.name}",
            "",
            _cell(spec.description),
            "",
            f"Primary key: `{', '.join(spec.primary_key)}`. Sources: "
            + ", ".join(f"`{s}`" for s in spec.sources)
            + ".",
            "",
            "| field | type | unit | required | description |",
            "|---|---|---|---|---|",
        ]
        for f in spec.fields:
            extra = []
            if f.ref:
                extra.append(f"resolved as {f.ref} name")
            if f.derived:
                extra.append(f"derived ({f.derived})")
            if f.list_sep:
                extra.append(f"'{f.list_sep}'-separated list")
            if f.enum:
                extra.append("one of " + ", ".join(f.enum))
            desc = _cell(f.description) + (f" ({'; '.join(extra)})" if extra else "")
            lines.append(
                f"| {f.name} | {f.type} | {f.unit or ''} | {'yes' if f.required else ''} | {desc} |"
            )
    lines += [
        "",
        "## Sources",
        "",
        "| id | title | publisher, year | licence | via |",
        "|---|---|---|---|---|",
    ]
    for s in cat.sources.values():
        title = f"[{_cell(s.title)}]({s.path})" if s.path else _cell(s.title)
        lines.append(
            f"| `{s.name}` | {title} | {_cell(s.publisher)}, {s.year} | "
            f"{_cell(s.licence_text())} | {_cell(s.transcription or '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - used by developers
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/data-dictionary.md")
    target.write_text(render_data_dictionary(), encoding="utf-8")
    print(f"wrote {target}")
