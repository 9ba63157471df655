"""Read the Frictionless ``datapackage.json`` that describes the knowledge base.

The descriptor is the single source of truth for table names, fields, types, units,
descriptions, primary keys, sources and licences. Validation schemas, ``critmat data
describe`` and the docs are all generated from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from critmat.errors import UnknownTableError

__all__ = ["Catalog", "FieldSpec", "SourceSpec", "TableSpec", "embedded_dir"]


def embedded_dir() -> Path:
    """Return the folder of the embedded dataset inside the installed package."""
    return Path(str(resources.files("critmat.data").joinpath("embedded")))


@dataclass(frozen=True)
class FieldSpec:
    """One field (column) of a table."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    ref: str | None = None
    derived: str | None = None
    default: Any = None
    list_sep: str | None = None

    @classmethod
    def from_descriptor(cls, d: dict[str, Any]) -> FieldSpec:
        """Build a field spec from a Frictionless field descriptor."""
        c = d.get("constraints", {})
        enum = c.get("enum")
        return cls(
            name=d["name"],
            type=d.get("type", "string"),
            description=d.get("description", ""),
            unit=d.get("unit"),
            required=bool(c.get("required", False)),
            minimum=c.get("minimum"),
            maximum=c.get("maximum"),
            enum=tuple(enum) if enum is not None else None,
            pattern=c.get("pattern"),
            ref=d.get("critmat:ref"),
            derived=d.get("critmat:derived"),
            default=d.get("critmat:default"),
            list_sep=d.get("critmat:list"),
        )

    def expected(self) -> str:
        """Describe in words which values are valid for this field."""
        words = {
            "string": "text",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true/false",
            "date": "a date (YYYY-MM-DD)",
        }
        parts = [words.get(self.type, self.type)]
        if self.ref == "material":
            parts = ["a known material (id, name or alias)"]
        elif self.ref == "country":
            parts = ["a known country (ISO-3 code, ISO-2 code or name)"]
        elif self.ref == "unit":
            parts = ["a unit of the units table (t, kg, lb, ...)"]
        if self.list_sep:
            each = "one of " + ", ".join(self.enum) if self.enum else parts[0]
            parts = [f"a '{self.list_sep}'-separated list, each item {each}"]
        elif self.enum:
            parts.append("one of " + ", ".join(self.enum))
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"between {self.minimum:g} and {self.maximum:g}")
        elif self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        elif self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.pattern:
            parts.append(f"matching {self.pattern}")
        if self.unit:
            parts.append(f"in {self.unit}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SourceSpec:
    """One source of the dataset."""

    name: str
    title: str
    publisher: str = ""
    year: int | None = None
    path: str | None = None
    citation: str | None = None
    licenses: tuple[dict[str, str], ...] = ()
    transcription: str | None = None

    @classmethod
    def from_descriptor(cls, d: dict[str, Any]) -> SourceSpec:
        """Build a source spec from a Frictionless source descriptor."""
        return cls(
            name=d["name"],
            title=d.get("title", d["name"]),
            publisher=d.get("publisher", ""),
            year=d.get("year"),
            path=d.get("path"),
            citation=d.get("citation"),
            licenses=tuple(d.get("licenses", ())),
            transcription=d.get("transcription"),
        )

    def licence_text(self) -> str:
        """Return the licence titles joined by '; '."""
        return "; ".join(lic.get("title", lic.get("name", "")) for lic in self.licenses)


@dataclass(frozen=True)
class TableSpec:
    """One table (Frictionless resource) of the knowledge base.

    ``user_only`` tables (e.g. ``bom``, ``build_rates``) have a schema and no embedded rows:
    ``path`` is ``None`` and the store shows an empty, typed view until the user imports rows.
    """

    name: str
    title: str
    description: str
    path: str | None
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...]
    sources: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    user_only: bool = False

    @classmethod
    def from_descriptor(cls, d: dict[str, Any]) -> TableSpec:
        """Build a table spec from a Frictionless resource descriptor."""
        schema = d.get("schema", {})
        pk = schema.get("primaryKey", [])
        if isinstance(pk, str):
            pk = [pk]
        return cls(
            name=d["name"],
            title=d.get("title", d["name"]),
            description=d.get("description", ""),
            path=d.get("path"),
            fields=tuple(FieldSpec.from_descriptor(f) for f in schema.get("fields", [])),
            primary_key=tuple(pk),
            sources=tuple(s["name"] for s in d.get("sources", [])),
            stats=dict(d.get("critmat:stats", {})),
            user_only=bool(d.get("critmat:user_only", False)),
        )

    @property
    def field_names(self) -> list[str]:
        """Names of all fields, in order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        """Return the spec of field ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


class Catalog:
    """The parsed ``datapackage.json`` of the embedded knowledge base.

    Parameters
    ----------
    descriptor
        The parsed JSON descriptor.
    """

    def __init__(self, descriptor: dict[str, Any]) -> None:
        self.descriptor = descriptor

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Read a descriptor file (default: the embedded ``datapackage.json``)."""
        p = path if path is not None else embedded_dir() / "datapackage.json"
        with p.open(encoding="utf-8") as fh:
            return cls(json.load(fh))

    @property
    def name(self) -> str:
        """Package name."""
        return str(self.descriptor.get("name", "critmat-kb"))

    @property
    def version(self) -> str:
        """Dataset version (changes whenever the embedded data change)."""
        return str(self.descriptor.get("version", "unknown"))

    @property
    def content_hash(self) -> str:
        """SHA-256 over the embedded data files (short form)."""
        return str(self.descriptor.get("critmat:content_hash", ""))[:12]

    @cached_property
    def tables(self) -> dict[str, TableSpec]:
        """Table specs by name, in descriptor order."""
        return {
            r["name"]: TableSpec.from_descriptor(r) for r in self.descriptor.get("resources", [])
        }

    @cached_property
    def sources(self) -> dict[str, SourceSpec]:
        """Source specs by id."""
        return {
            s["name"]: SourceSpec.from_descriptor(s) for s in self.descriptor.get("sources", [])
        }

    def table(self, name: str) -> TableSpec:
        """Return the spec of table ``name``.

        Raises
        ------
        critmat.errors.UnknownTableError
            With the closest table names when ``name`` is unknown.
        """
        try:
            return self.tables[name]
        except KeyError:
            from critmat.errors import closest

            raise UnknownTableError(name, suggestions=closest(name, list(self.tables))) from None
