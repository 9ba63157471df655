"""Dataset part: policy event record, CRMA projects, partnerships and benchmarks, stockpile facts.

Reads ``reference/policy-record``, ``crma-projects-and-partnerships``,
``crma-benchmark-inputs`` and ``stockpiles-and-decisions`` (and the seed timeline in
``seeds/``) and adds, validated by the same schemas as user imports:

* ``policy_events`` and ``policy_event_materials`` (the 168-event record 2008-2025; the build
  fails unless every seed event is present with its date, checked against the seed's Chinese
  text, and unless every export-control link resolves);
* ``crma_strategic_projects``, ``crma_project_capacities``, ``crma_project_counts`` and
  ``eu_raw_material_partnerships``;
* ``crma_benchmarks`` (versioned) and the tracker inputs ``crma_eu_sourcing_2023`` (cross-checked
  against the EU 2023 tables), ``crma_status_qualitative``, ``eca_2026_supplier_shares``,
  ``crma_outlook_2030``, ``eu_consumption_datapoints``, ``crm2020_producer_shares``,
  ``iea_refining_concentration``;
* ``nds_2013_shortfalls`` (DoD 2013 Table 10-1, arithmetic checked), ``stockpile_facts`` and
  ``lead_times_cost_premia``.

Table specs: ``scripts/schema/tables.d/policy.yaml``; sources:
``scripts/schema/sources.d/policy.yaml``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from build_dataset import Build

#: The seed timeline (Chinese, about 2015) relative to the shared reference folder.
SEED_FILE = Path("..") / "seeds" / "002_ebfba30c43a2edb9.txt"

#: Events of the seed per section (SOURCES.md of policy-record: intro 2, EU 37, US 13, Japan 23).
SEED_COUNTS = {"INTRO": 2, "EU": 37, "US": 13, "JP": 23}

#: Section headings of the seed (the intro is the text before the EU heading).
SEED_HEADINGS = {"EU": "欧盟", "US": "美国", "JP": "日本"}

SEED_MARK = "seed 002"


# --------------------------------------------------------------------------- small helpers


def _text(value: object) -> str:
    """Cell as stripped text ('' for missing)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _na(value: object) -> Any:
    """Cell as stripped text or pd.NA."""
    return _text(value) or pd.NA


def _read(b: Build, *parts: str) -> pd.DataFrame:
    return pd.read_csv(b.ref.joinpath(*parts), dtype=str, keep_default_na=False)


def split_top(text: str, sep: str = ";") -> list[str]:
    """Split ``text`` at ``sep`` outside parentheses; strip items, drop empty ones."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [x for x in out if x]


def _lookup(b: Build, name: str, source: str) -> str | None:
    """Canonical material id of ``name`` (registered as a seen spelling) or None."""
    assert b.ctx is not None
    if b.ctx.materials.lookup(name) is None:
        return None
    return b.material(name, source)


def _country(b: Build, name: str, source: str) -> Any:
    return b.country(name, source) if _text(name) else pd.NA


def _pct(value: object) -> Any:
    """'62' -> 0.62; '' -> NA."""
    s = _text(value)
    return float(s) / 100 if s else pd.NA


def _years(text: str) -> tuple[Any, Any]:
    """First and last year of a period text ('2012-2016 avg (2020 assessment)' -> 2012, 2016)."""
    m = re.search(r"(\d{4})\s*-\s*(\d{4})", text)
    if m:
        return int(m.group(1)), int(m.group(2))
    ys = [int(y) for y in re.findall(r"(?<!\d)(\d{4})(?!\d)", text)]
    return (min(ys), max(ys)) if ys else (pd.NA, pd.NA)


def _fail(message: str) -> None:
    sys.exit(f"policy part: {message}")


# --------------------------------------------------------------------------- materials


@dataclass(frozen=True)
class Item:
    """One reading of a named item: the material it denotes (or none) and how it was read."""

    item: str
    material: str | None
    resolution: str  # alias_table, curated, general, product, unresolved
    note: str | None = None
    scope: str | None = None  # text kept in material_scope (general terms, products)


#: Items read by rule (exact text as written in the sources) -> [(material or None, resolution,
#: note)]. Every other item goes through the alias table, then the general/product patterns.
CURATED_ITEMS: dict[str, list[tuple[str | None, str, str | None]]] = {
    "NdPr": [
        ("neodymium", "curated", "NdPr = neodymium-praseodymium"),
        ("praseodymium", "curated", "NdPr = neodymium-praseodymium"),
    ],
    "light and heavy rare earths": [("lree", "curated", None), ("hree", "curated", None)],
    "medium and heavy rare earths": [
        ("hree", "curated", "medium rare earths are no knowledge-base group; read as hree")
    ],
    "rare earths (medium/heavy)": [
        ("hree", "curated", "medium rare earths are no knowledge-base group; read as hree")
    ],
    "rare-earth mud": [("rare_earths", "curated", "seabed rare-earth mud")],
    "rare-earth technologies": [("rare_earths", "curated", "technologies, not the material")],
    "rare-earth magnets": [("rare_earths", "curated", "magnets (a rare-earth product)")],
    "rare-earth permanent magnets": [("rare_earths", "curated", "magnets (a rare-earth product)")],
    "NdFeB and SmCo magnets": [
        ("neodymium", "curated", "NdFeB magnet alloy"),
        ("samarium", "curated", "SmCo magnet alloy"),
    ],
    "permanent-magnet scrap": [("rare_earths", "curated", "rare-earth magnet scrap")],
    "aluminium scrap": [("aluminium", "curated", "scrap (secondary aluminium)")],
    "graphite anode": [("graphite", "curated", "anode material")],
    "oil and gas": [("petroleum", "curated", None), ("natural_gas", "curated", None)],
    "renewable hydrogen": [("hydrogen", "curated", "renewable hydrogen")],
    "alumina/aluminium": [("aluminium", "curated", "alumina (aluminium oxide) and aluminium")],
    "refined rare earths": [("rare_earths", "curated", "refined")],
    "superhard materials": [(None, "unresolved", "not a knowledge-base material")],
    "synthetic graphite": [
        (None, "unresolved", "critmat's graphite is natural graphite; synthetic graphite is not")
    ],
    "ceramic materials (rare-earth related)": [(None, "product", None)],
    "raw materials for high-tech products": [(None, "general", None)],
    "34 critical raw materials incl. 16 strategic": [(None, "general", None)],
    "tungsten and 7 other SRMs": [("tungsten", "curated", None), (None, "general", None)],
    "50 critical minerals (REE and PGM listed individually; nickel, zinc added; helium, potash, "
    "rhenium, strontium removed)": [
        (None, "general", None),
        ("rare_earths", "curated", "listed individually"),
        ("pgm", "curated", "listed individually"),
        ("nickel", "curated", "added to the list"),
        ("zinc", "curated", "added to the list"),
        ("helium", "curated", "removed from the list"),
        ("potash", "curated", "removed from the list"),
        ("rhenium", "curated", "removed from the list"),
        ("strontium", "curated", "removed from the list"),
    ],
}

_GENERAL = re.compile(
    r"\b(materials?|minerals|metals|SRMs|CRMs|resources|mining|supply chains|items)\b", re.I
)
_PRODUCT = re.compile(
    r"\b(magnets?|batter(?:y|ies)|vehicles|cells|semiconductors|products|technolog(?:y|ies))\b",
    re.I,
)


def read_items(b: Build, text: str, source: str) -> list[Item]:
    """Read a ';'-separated material list into items (see :data:`CURATED_ITEMS`).

    Rules, in order: curated items; 'X incl. Y' (X a general term, Y read again); 'X (adds a,
    b)' (the added materials); the alias table on the name without parentheses, plus the
    materials named in parentheses when every one of them resolves ('nickel (cobalt)',
    'polymetallic (Ni, Cu, Co, PGM)'); general terms; products; else unresolved (kept verbatim).
    """
    out: list[Item] = []
    for item in split_top(text):
        out.extend(_read_item(b, item, source))
    return out


def _read_item(b: Build, item: str, source: str, whole: str | None = None) -> list[Item]:
    key = whole or item
    if item in CURATED_ITEMS:
        return [
            Item(key, m, res, note, scope=item if m is None and res != "unresolved" else None)
            for m, res, note in CURATED_ITEMS[item]
        ]
    incl = re.fullmatch(r"(?P<head>.+?)\s+incl\.\s+(?P<tail>.+)", item)
    if incl:
        head = Item(key, None, "general", None, scope=incl["head"])
        return [head, *_read_item(b, incl["tail"], source, whole=key)]
    adds = re.fullmatch(r"(?P<head>.+?)\s*\(adds (?P<list>.+)\)", item)
    if adds:
        rows = [Item(key, None, "general", None, scope=adds["head"])]
        for name in adds["list"].split(","):
            for sub in _read_item(b, name.strip(), source, whole=key):
                rows.append(Item(key, sub.material, sub.resolution, "added to the list", sub.scope))
        return rows
    base = re.sub(r"\s*\(.*\)\s*$", "", item).strip()
    inner = re.search(r"\((.*)\)\s*$", item)
    mat = _lookup(b, base, source)
    extra: list[Item] = []
    if inner:
        tokens = [t.strip() for t in inner.group(1).split(",") if t.strip()]
        found = [(t, _inner_material(b, t, source)) for t in tokens]
        if tokens and all(ms for _, ms in found):
            extra = [
                Item(key, m, "alias_table" if t != "NdPr" else "curated", "named in parentheses")
                for t, ms in found
                for m in ms
            ]
    if mat is not None:
        return [Item(key, mat, "alias_table"), *extra]
    if extra:
        return extra
    if _GENERAL.search(item):
        return [Item(key, None, "general", scope=item)]
    if _PRODUCT.search(item):
        return [Item(key, None, "product", scope=item)]
    return [Item(key, None, "unresolved", "not a knowledge-base material")]


def _inner_material(b: Build, token: str, source: str) -> list[str]:
    if token == "NdPr":
        return ["neodymium", "praseodymium"]
    m = _lookup(b, token, source)
    return [m] if m else []


def _join(values: Iterable[str]) -> Any:
    out = list(dict.fromkeys(v for v in values if v))
    return ";".join(out) if out else pd.NA


# --------------------------------------------------------------------------- policy events


#: Known problems of the record, classified from the verification note; the pattern must occur
#: in the note (case-insensitive) or the build stops, so the class cannot drift from the note.
RECORD_ISSUES: dict[str, tuple[str, str]] = {
    "SEED-INTRO-01": ("date_conflict", r"date conflict"),
    "SEED-EU-04": ("date_conflict", r"earlier than the seed"),
    "SEED-EU-22": ("date_conflict", r"date not confirmed"),
    "SEED-EU-27": ("date_conflict", r"date conflict"),
    "SEED-EU-05": ("content_conflict", r"ambiguous"),
    "SEED-EU-06": ("content_conflict", r"no primary source for an eu rare-earth reserve"),
    "SEED-EU-12": ("content_conflict", r"conflicts with"),
    "SEED-JP-05": ("content_conflict", r"not consistent"),
    "SEED-JP-12": ("content_conflict", r"possibly mis-stated"),
    "SEED-JP-20": ("content_conflict", r"appeals in april 2014 were by china and the us"),
    "SEED-JP-21": ("content_conflict", r"inconsistent"),
    "SEED-EU-16": ("actor_misattributed", r"listed under eu"),
    "SEED-EU-26": ("actor_misattributed", r"actor is the eurasian economic union"),
    "SEED-EU-09": ("duplicate", r"probably the same"),
    "SEED-EU-24": ("duplicate", r"duplicate of seed-eu-23"),
    "SEED-EU-33": ("duplicate", r"same eda study"),
    "SEED-EU-20": ("not_a_raw_materials_measure", r"not a raw-materials measure"),
    "EXT-NATO-2025-06": ("not_a_raw_materials_measure", r"not a raw-materials measure"),
}

#: Link values of the record that name another knowledge-base table, not an export control.
LINKED_TABLES = {"nato_defence_critical_raw_materials_2024.csv": "nato_2024"}


def parse_event_date(text: str) -> tuple[str, str | None, str]:
    """Return (ISO start date, ISO end date or None, precision) of a record date text.

    Forms: 'YYYY-MM-DD', 'YYYY-MM-DD/YYYY-MM-DD' (a range), 'YYYY-MM', 'YYYY', 'YYYY onward'
    and 'YYYY (early)' (periods).

    Raises
    ------
    ValueError
        For any other form.
    """
    s = text.strip()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:/(\d{4}-\d{2}-\d{2}))?", s)
    if m:
        return m.group(1), m.group(2), "day"
    if re.fullmatch(r"\d{4}-\d{2}", s):
        return f"{s}-01", None, "month"
    if re.fullmatch(r"\d{4}", s):
        return f"{s}-01-01", None, "year"
    m = re.fullmatch(r"(\d{4}) (?:onward|\(early\))", s)
    if m:
        return f"{m.group(1)}-01-01", None, "period"
    raise ValueError(f"unrecognised date '{text}'")


def seed_date_patterns(date_text: str, precision: str) -> list[str]:
    """Chinese forms of a record date as the seed writes it (the first is the exact form).

    '2010-06-17' -> ['2010年6月17日', '同年6月17日'] ('同年' = 'the same year', used by the seed
    for a second date in one paragraph); '2009-05' -> ['2009年5月', '同年5月']; '2008' ->
    ['2008年']; '2001 onward' -> ['2001年以来']; '2010 (early)' -> ['2010年初'].
    """
    y = date_text[:4]
    if precision == "period":
        return [f"{y}年以来"] if "onward" in date_text else [f"{y}年初"]
    if precision == "year":
        return [f"{y}年"]
    month = int(date_text[5:7])
    if precision == "month":
        return [f"{y}年{month}月", f"同年{month}月"]
    day = int(date_text[8:10])
    return [f"{y}年{month}月{day}日", f"同年{month}月{day}日"]


def seed_sections(seed_text: str) -> dict[str, str]:
    """The seed split into its sections: INTRO (before the EU heading), EU, US, JP."""
    lines = seed_text.splitlines()
    starts = {}
    for key, heading in SEED_HEADINGS.items():
        idx = [i for i, line in enumerate(lines) if line.strip() == heading]
        if len(idx) != 1:
            raise ValueError(f"seed: heading '{heading}' found {len(idx)} times, expected once")
        starts[key] = idx[0]
    order = sorted(starts, key=lambda k: starts[k])
    out = {"INTRO": "\n".join(lines[: starts[order[0]]])}
    for i, key in enumerate(order):
        end = starts[order[i + 1]] if i + 1 < len(order) else len(lines)
        out[key] = "\n".join(lines[starts[key] : end])
    return out


def check_seed_events(shared: pd.DataFrame, built: pd.DataFrame, seed_text: str) -> list[str]:
    """Problems with the seed events of the built table (empty when every check passes).

    Checks: the shared file has the documented number of seed events per section
    (:data:`SEED_COUNTS`); every one of them is in ``built`` with ``in_seed`` set, the same
    date text and the parsed date; and the date, as the seed writes it in Chinese, occurs in the
    seed's section of the event (``SEED-EU-*`` in the EU section, ...).
    """
    problems: list[str] = []
    seed = shared[shared["source_seed"].str.contains(SEED_MARK, na=False)]
    sections = seed_sections(seed_text)
    counts = seed["event_id"].str.extract(r"^SEED-([A-Z]+)-")[0].value_counts().to_dict()
    if counts != SEED_COUNTS:
        problems.append(f"seed events per section {counts}, expected {SEED_COUNTS}")
    by_id = built.set_index("event_id")
    for r in seed.itertuples(index=False):
        eid, text, precision = r.event_id, r.date, r.date_precision
        if eid not in by_id.index:
            problems.append(f"seed event {eid} ({text}) is missing from policy_events")
            continue
        row = by_id.loc[eid]
        start, _, _ = parse_event_date(text)
        if not bool(row["in_seed"]):
            problems.append(f"seed event {eid}: in_seed is not set")
        if row["date_text"] != text or str(pd.Timestamp(row["date"]).date()) != start:
            problems.append(
                f"seed event {eid}: date {row['date_text']!r} ({row['date']}) in the table, "
                f"{text!r} ({start}) in the shared file"
            )
        if row["date_precision"] != precision:
            problems.append(f"seed event {eid}: precision {row['date_precision']} != {precision}")
        section = eid.split("-")[1]
        patterns = seed_date_patterns(text, precision)
        if not any(p in sections.get(section, "") for p in patterns):
            problems.append(
                f"seed event {eid}: date {text} ({' or '.join(patterns)}) not found in the "
                f"seed's {section} section"
            )
    return problems


def build_policy_events(b: Build) -> None:
    raw = _read(b, "policy-record", "policy_events_2008_2025.csv")
    if len(raw) != 168:
        b.note(f"policy_events: the shared record has {len(raw)} events (SOURCES.md says 168)")
    rows: list[dict[str, Any]] = []
    mats: list[list[Item]] = []
    items_by_link: dict[str, list[Item]] = {}
    pending: list[tuple[int, str]] = []
    for r in raw.itertuples(index=False):
        try:
            start, end, precision = parse_event_date(r.date)
        except ValueError as exc:
            _fail(f"policy_events {r.event_id}: {exc}")
        if precision != r.date_precision:
            _fail(
                f"policy_events {r.event_id}: date '{r.date}' reads as {precision}, the file "
                f"says {r.date_precision}"
            )
        note = _text(r.verification_note)
        issue: Any = pd.NA
        if r.event_id in RECORD_ISSUES:
            issue, pattern = RECORD_ISSUES[r.event_id]
            if not re.search(pattern, note, re.IGNORECASE):
                _fail(f"policy_events {r.event_id}: note no longer says /{pattern}/: {note!r}")
        link = _text(r.linked_project_event_id)
        linked_table: Any = pd.NA
        linked_id: Any = pd.NA
        if link in LINKED_TABLES:
            linked_table = LINKED_TABLES[link]
            b.note(
                f"policy_events {r.event_id}: link '{link}' names a reference file, not an "
                f"export control; recorded as linked_table {linked_table}"
            )
        elif link:
            linked_table, linked_id = "export_controls", link
        in_seed = SEED_MARK in _text(r.source_seed)
        primary, secondary = _text(r.primary_source_url), _text(r.secondary_source_url)
        if primary:
            evidence = "primary"
        elif secondary:
            evidence = "secondary"
        elif link:
            evidence = "linked_record"
        elif in_seed:
            evidence = "seed_only"
        else:
            _fail(f"policy_events {r.event_id}: no source at all (no URL, link or seed)")
        source = (
            "policy_record_2008_2025;seed_002_timeline" if in_seed else "policy_record_2008_2025"
        )
        ref = re.fullmatch(r"see (\S+)", _text(r.materials))
        if ref:
            pending.append((len(rows), ref.group(1)))
            items: list[Item] = []
        else:
            items = read_items(b, r.materials, "policy_record")
        if linked_id is not pd.NA:
            items_by_link[str(linked_id)] = items
        rows.append(
            {
                "event_id": r.event_id,
                "date": start,
                "date_end": end or pd.NA,
                "date_precision": precision,
                "date_text": r.date,
                "actors": r.actor,
                "actor_detail": _na(r.actor_detail),
                "instrument_type": r.instrument_type,
                "materials_text": r.materials,
                "summary": r.summary_en,
                "in_seed": in_seed,
                "primary_source_url": primary or pd.NA,
                "secondary_source_url": secondary or pd.NA,
                "evidence": evidence,
                "verification_note": note or pd.NA,
                "record_issue": issue,
                "linked_project_event_id": linked_id,
                "linked_table": linked_table,
                "source_id": source,
            }
        )
        mats.append(items)
    for pos, target in pending:
        if target not in items_by_link:
            _fail(f"policy_events {rows[pos]['event_id']}: 'see {target}' names no linked event")
        text = rows[pos]["materials_text"]
        mats[pos] = [
            Item(
                text,
                it.material,
                "curated" if it.material else it.resolution,
                f"as {target}",
                it.scope,
            )
            for it in items_by_link[target]
        ]
    long_rows = []
    for row, items in zip(rows, mats, strict=True):
        row["materials"] = _join(it.material for it in items if it.material)
        row["materials_unresolved"] = _join(
            it.item for it in items if it.resolution == "unresolved"
        )
        row["material_scope"] = _join(it.scope for it in items if it.scope)
        for it in items:
            long_rows.append(
                {
                    "event_id": row["event_id"],
                    "item": it.item,
                    "material": it.material or pd.NA,
                    "material_key": it.material or it.resolution,
                    "resolution": it.resolution,
                    "note": it.note or pd.NA,
                    "source_id": row["source_id"],
                }
            )
    events = b.add("policy_events", pd.DataFrame(rows))
    links = pd.DataFrame(long_rows).drop_duplicates(["event_id", "item", "material_key"])
    b.add("policy_event_materials", links)

    seed_path = (b.ref / SEED_FILE).resolve()
    if not seed_path.is_file():
        _fail(f"the seed timeline {SEED_FILE} (next to the reference folder) is missing")
    problems = check_seed_events(raw, events, seed_path.read_text(encoding="utf-8"))
    if problems:
        _fail("seed events check failed:\n  " + "\n  ".join(problems))
    n_seed = int(events["in_seed"].sum())
    b.note(
        f"policy_events: all {n_seed} seed events present with their dates; each date found in "
        "its section of the Chinese seed text (SEED-EU-18 as '同年7月23日', 'the same year')"
    )
    _check_export_control_links(b, events, links)
    unresolved = sorted(set(links.loc[links["resolution"] == "unresolved", "item"]))
    b.note(f"policy_events: names kept verbatim as unresolved: {'; '.join(unresolved)}")
    counts = links["resolution"].value_counts().to_dict()
    b.note(f"policy_event_materials: {len(links)} rows by resolution {counts}")
    issues = events["record_issue"].value_counts().to_dict()
    b.note(f"policy_events: record issues from the verification notes {issues}")


def _check_export_control_links(b: Build, events: pd.DataFrame, links: pd.DataFrame) -> None:
    ec = b.tables["export_controls"]
    known = set(ec["event_id"])
    linked = events.dropna(subset=["linked_project_event_id"])
    bad = sorted(set(linked["linked_project_event_id"]) - known)
    if bad:
        _fail(f"policy_events links to unknown export_controls events: {bad}")
    counts = linked["linked_project_event_id"].value_counts()
    if (counts > 1).any() or set(counts.index) != known:
        _fail(
            "every export_controls event must be linked by exactly one policy event: "
            f"linked {sorted(counts.index)}, export_controls {sorted(known)}"
        )
    first = ec.groupby("event_id").first()
    ec_mats = ec.dropna(subset=["material"]).groupby("event_id")["material"].agg(set)
    ev_mats = links.dropna(subset=["material"]).groupby("event_id")["material"].agg(set)
    for r in linked.itertuples(index=False):
        target = r.linked_project_event_id
        announced = pd.Timestamp(first.loc[target, "date_announced"])
        if pd.Timestamp(r.date) != announced:
            b.note(
                f"policy_events {r.event_id}: date {r.date_text} vs export_controls {target} "
                f"announced {announced.date()}"
            )
        ours, theirs = ev_mats.get(r.event_id, set()), ec_mats.get(target, set())
        if ours != theirs:
            b.note(
                f"policy_events {r.event_id}: materials {sorted(ours)} vs export_controls "
                f"{target} {sorted(theirs)}"
            )
    b.note(f"policy_events: {len(linked)} links to export_controls, every one resolves")


# --------------------------------------------------------------------------- CRMA projects


_STAGES = ("extraction", "processing", "recycling", "substitution")

#: Status of a project where its note or capacity text gives one: name -> (status, phrase that
#: must occur in the note/capacity text).
PROJECT_STATUS = {
    "Lionheart (Phase One)": ("plant to be commissioned end-2026 (company)", "end-2026"),
    "Keliber lithium": ("first ore Feb 2026 (secondary source)", "first ore Feb 2026"),
    "Viridian lithium hydroxide refinery": ("production planned from 2027", "from 2027"),
    "France BAM (battery anode material) plant": ("planned by 2028", "by 2028"),
    "AGELI (Alsace Geothermie Lithium)": ("batteries for ~250,000 EVs/yr from 2031", "from 2031"),
    "Pulawy rare earth separation plant": ("construction planned 2027-28", "2027-28"),
    "Cinovec lithium": ("listing uncertain: sources conflict", "CONFLICT"),
    "Jadar lithium-borates": ("care and maintenance from Nov 2025 (secondary)", "care and"),
    "Sao Miguel Paulista nickel-cobalt refinery": ("care and maintenance at selection", "care and"),
    "Hemerdon tungsten-tin mine": ("restart targeted end-2026 (needs GBP 69m)", "target end-2026"),
}


#: IUPAC CIAAW 2021 abridged standard atomic weights of the elements used below.
ATOMIC_WEIGHTS = {
    "H": 1.008,
    "Li": 6.94,
    "B": 10.81,
    "C": 12.011,
    "O": 15.999,
    "S": 32.06,
    "Mn": 54.938,
}

#: Compositions of the products whose element content is computed.
FORMULAS: dict[str, dict[str, int]] = {
    "LiOH·H2O": {"Li": 1, "O": 2, "H": 3},
    "Li2CO3": {"Li": 2, "C": 1, "O": 3},
    "MnSO4·H2O": {"Mn": 1, "S": 1, "O": 5, "H": 2},
    "H3BO3": {"H": 3, "B": 1, "O": 3},
}

ELEMENT_OF = {"lithium": "Li", "manganese": "Mn", "boron": "B"}


def mass_fraction(formula: str, element: str) -> float:
    """Mass fraction of ``element`` in ``formula`` (e.g. Li in Li2CO3 = 0.1879)."""
    comp = FORMULAS[formula]
    total = sum(ATOMIC_WEIGHTS[e] * n for e, n in comp.items())
    return ATOMIC_WEIGHTS[element] * comp[element] / total


@dataclass(frozen=True)
class Capacity:
    """One published capacity figure of a Strategic Project (curated from its text)."""

    project: str
    product: str
    material: str | None
    stage: str
    capacity: float
    unit: str
    text: str  # must occur in the project's capacity_published
    qualifier: str | None = None
    formula: str | None = None
    kind: str = "not_computed"
    from_year: int | None = None
    note: str | None = None
    basis: str | None = None


CAPACITIES: tuple[Capacity, ...] = (
    Capacity(
        "Lionheart (Phase One)", "lithium hydroxide", "lithium", "processing", 24000, "t/yr",
        "24,000 t/yr lithium hydroxide", "company statement", "LiOH·H2O", "assumed_formula",
    ),
    Capacity(
        "EMILI", "lithium for electric vehicles", "lithium", "processing", 700000, "vehicles/yr",
        "~700,000 vehicles/yr", "approximately (France 2030 description)",
    ),
    Capacity(
        "AGELI (Alsace Geothermie Lithium)", "lithium (compound not stated)", "lithium",
        "processing", 10000, "t/yr", "~10,000 t/yr lithium", "approximately (2023 press)",
        basis="compound not stated (metal, carbonate or hydroxide?)",
    ),
    Capacity(
        "AGELI (Alsace Geothermie Lithium)", "batteries for electric vehicles", "lithium",
        "processing", 250000, "vehicles/yr", "~250,000 EVs/yr from 2031", "approximately",
        from_year=2031,
    ),
    Capacity(
        "Viridian lithium hydroxide refinery", "lithium (compound not stated)", "lithium",
        "processing", 28500, "t/yr", "28,500 t/yr lithium from 2027", "2024 statement",
        from_year=2027, note="earlier plan 25,000 t/yr LiOH rising to 100,000 t/yr by 2030",
        basis="compound not stated (the earlier plan counted LiOH)",
    ),
    Capacity(
        "France BAM (battery anode material) plant", "battery anode material", "graphite",
        "processing", 20000, "t/yr", "20,000 t/yr battery anode material by 2028", "company",
        kind="as_published", from_year=2028, note="potential 50,000 t/yr",
        basis="anode material counted as graphite",
    ),
    Capacity(
        "Keliber lithium", "lithium hydroxide monohydrate", "lithium", "processing", 15000,
        "t/yr", "15,000 t/yr lithium hydroxide monohydrate", "planned", "LiOH·H2O",
        "stoichiometric",
    ),
    Capacity(
        "Vittangi graphite + Lulea anode refinery", "anode material", "graphite", "processing",
        19500, "t/yr", "19,500 t/yr anode material", "initial stage", kind="as_published",
        basis="anode material counted as graphite",
    ),
    Capacity(
        "Chvaletice Manganese Project", "battery-grade manganese sulphate", "manganese",
        "processing", 50000, "t/yr", "50,000 t/yr battery-grade manganese sulphate", None,
        "MnSO4·H2O", "assumed_formula",
    ),
    Capacity(
        "Bauxite-alumina-gallium integrated project", "gallium", "gallium", "processing", 50,
        "t/yr", "50 t/yr gallium", kind="as_published",
    ),
    Capacity(
        "Pulawy rare earth separation plant", "separated NdPr oxide", "lree", "processing",
        2000, "t/yr", "~2,000 t/yr separated NdPr oxide", "approximately (2021 plan)",
        basis="tonnes of oxide (REO); Nd/Pr split not published",
    ),
    Capacity(
        "Pulawy rare earth separation plant", "Dy/Tb oxide", "hree", "processing", 50, "t/yr",
        "~50 t/yr Dy/Tb oxide", "approximately (2021 plan)",
        basis="tonnes of oxide (REO); Dy/Tb split not published",
    ),
    Capacity(
        "Jadar lithium-borates", "lithium carbonate", "lithium", "processing", 58000, "t/yr",
        "58,000 t/yr lithium carbonate", "company figures", "Li2CO3", "stoichiometric",
    ),
    Capacity(
        "Jadar lithium-borates", "boric acid", "boron", "processing", 160000, "t/yr",
        "160,000 t/yr boric acid", "company figures", "H3BO3", "stoichiometric",
    ),
    Capacity(
        "Jadar lithium-borates", "sodium sulphate", None, "processing", 255000, "t/yr",
        "255,000 t/yr sodium sulphate", "company figures", basis="by-product, not a raw material",
    ),
    Capacity(
        "Songwe Hill", "NdPr oxide in mixed rare earth carbonate", "lree", "extraction", 1953,
        "t/yr", "~1,953 t/yr NdPr oxide", "approximately, first 5 years",
        basis="tonnes of oxide (REO) contained in the concentrate",
    ),
    Capacity(
        "Songwe Hill", "Dy/Tb oxides in mixed rare earth carbonate", "hree", "extraction", 56,
        "t/yr", "~56 t/yr Dy/Tb oxides", "approximately, first 5 years",
        basis="tonnes of oxide (REO) contained in the concentrate",
    ),
    Capacity(
        "Hemerdon tungsten-tin mine", "tungsten", "tungsten", "extraction", 0.2,
        "fraction of global tungsten demand", "up to 20% of global tungsten demand",
        "company claim (upper bound)",
    ),
)  # fmt: skip

#: Projects whose capacity text holds no capacity (an investment figure instead).
NO_CAPACITY = {"Sarytogan graphite deposit": "investment estimate"}


def _project_rows(b: Build, frame: pd.DataFrame, in_eu: bool) -> list[dict[str, Any]]:
    rows = []
    seq: dict[str, int] = {}
    for r in frame.itertuples(index=False):
        label = r.member_state if in_eu else r.country_or_territory
        iso = b.country(label, "crma_strategic_projects")
        seq[iso] = seq.get(iso, 0) + 1
        pid = f"SP-{'EU' if in_eu else 'X'}-{iso}-{seq[iso]}"
        items = read_items(b, r.materials.replace("; ", ";"), "crma_strategic_projects")
        stage_text = r.value_chain_stage
        stages = [s for s in _STAGES if re.search(rf"\b{s}\b", stage_text)]
        status: Any = pd.NA
        if r.project_name in PROJECT_STATUS:
            status, phrase = PROJECT_STATUS[r.project_name]
            if phrase not in f"{r.note} {r.capacity_published}":
                _fail(f"{pid} {r.project_name}: status phrase '{phrase}' no longer in the file")
        rows.append(
            {
                "project_id": pid,
                "project_name": r.project_name,
                "promoter": _na(r.promoter),
                "country": iso,
                "in_eu": in_eu,
                "partner_status": "member state" if in_eu else r.partner_status,
                "selection_date": "2025-03-25" if in_eu else "2025-06-04",
                "location": _na(getattr(r, "location", "")),
                "materials": _join(it.material for it in items if it.material),
                "materials_text": r.materials,
                "stages": ";".join(stages) or pd.NA,
                "stages_text": stage_text,
                "capacity_published": _na(r.capacity_published),
                "status": status,
                "confidence": r.confidence,
                "note": _na(r.note),
                "source_url": r.source_url,
                "secondary_source": True,
                "source_id": "crma_strategic_projects_eu_2025"
                if in_eu
                else "crma_strategic_projects_non_eu_2025",
            }
        )
    return rows


def build_crma_projects(b: Build) -> None:
    d = ("crma-projects-and-partnerships",)
    eu = _read(b, *d, "crma_strategic_projects_eu_2025.csv")
    non_eu = _read(b, *d, "crma_strategic_projects_non_eu_2025.csv")
    rows = _project_rows(b, eu, True) + _project_rows(b, non_eu, False)
    projects = b.add("crma_strategic_projects", pd.DataFrame(rows))
    by_name = projects.set_index("project_name")
    cap_rows = []
    for c in CAPACITIES:
        if c.project not in by_name.index:
            _fail(f"capacity of unknown project '{c.project}'")
        p = by_name.loc[c.project]
        if c.text not in _text(p["capacity_published"]):
            _fail(f"{p['project_id']}: '{c.text}' not in its capacity text")
        t_yr = c.capacity if c.unit == "t/yr" else None
        content: float | None = None
        basis = c.basis
        if c.kind == "as_published":
            content = t_yr
            basis = basis or "the product is the material"
        elif c.kind in ("stoichiometric", "assumed_formula"):
            assert c.formula is not None and c.material is not None and t_yr is not None
            frac = mass_fraction(c.formula, ELEMENT_OF[c.material])
            content = t_yr * frac
            assumed = "assumed " if c.kind == "assumed_formula" else ""
            basis = f"{ELEMENT_OF[c.material]} content of {assumed}{c.formula} ({frac:.4f})"
        cap_rows.append(
            {
                "project_id": p["project_id"],
                "product": c.product,
                "material": c.material or pd.NA,
                "stage": c.stage,
                "capacity": c.capacity,
                "unit": c.unit,
                "qualifier": c.qualifier or pd.NA,
                "capacity_t_yr": t_yr,
                "content_t_yr": content,
                "content_basis": basis or "not a mass rate",
                "content_kind": c.kind,
                "from_year": c.from_year,
                "published_text": p["capacity_published"],
                "note": c.note or pd.NA,
                "source_id": p["source_id"],
            }
        )
    with_text = set(projects.dropna(subset=["capacity_published"])["project_name"])
    missing = with_text - {c.project for c in CAPACITIES} - set(NO_CAPACITY)
    if missing:
        _fail(f"projects with a capacity text but no curated capacity: {sorted(missing)}")
    b.add("crma_project_capacities", pd.DataFrame(cap_rows))
    _build_project_counts(b, projects)


def _build_project_counts(b: Build, projects: pd.DataFrame) -> None:
    s = _read(b, "crma-projects-and-partnerships", "crma_strategic_projects_summary_2025.csv")
    value = [
        float(v.replace(",", "")) if re.fullmatch(r"[\d,.]+", v.strip()) else None
        for v in s["value"]
    ]
    counts = pd.DataFrame(
        {
            "metric": s["metric"],
            "value": value,
            "value_text": s["value"],
            "unit": s["unit"].replace("", pd.NA),
            "note": s["note"].replace("", pd.NA),
            "source_url": s["source_url"].replace("", pd.NA),
            "source_id": "crma_project_counts_2025",
        }
    )
    pub = b.add("crma_project_counts", counts).set_index("metric")["value"]
    eu, non_eu = projects[projects["in_eu"]], projects[~projects["in_eu"]]
    n_non_eu = pub["nonEU_SP_selected_2025-06-04"]
    if len(non_eu) != n_non_eu:
        _fail(f"{len(non_eu)} non-EU projects, the Commission lists {n_non_eu:g}")
    b.note(
        f"crma_strategic_projects: {len(eu)} of the {pub['EU_SP_selected_2025-03-25']:g} EU "
        f"projects identified, {len(non_eu)} of {pub['nonEU_SP_selected_2025-06-04']:g} outside"
    )
    assert b.ctx is not None
    by_country = eu["country"].value_counts()
    for metric, v in pub.items():
        m = re.fullmatch(r"EU_SP_by_country_(.+)", str(metric))
        if m and not pd.isna(v):
            iso = b.ctx.countries.resolve(m.group(1))
            if int(by_country.get(iso, 0)) != v:
                b.note(
                    f"crma_strategic_projects: {m.group(1)} {by_country.get(iso, 0)} projects "
                    f"identified, {v:g} published"
                )
    listed = eu["materials"].dropna().str.split(";").explode().value_counts()
    for metric, v in pub.items():
        m = re.fullmatch(r"EU_SP_([a-z]+)", str(metric))
        mat = m and b.ctx.materials.lookup(m.group(1))
        if mat and not pd.isna(v) and int(listed.get(mat, 0)) != v:
            b.note(
                f"crma_strategic_projects: {listed.get(mat, 0)} EU projects name {mat}, "
                f"{v:g} published ({metric})"
            )


# --------------------------------------------------------------------------- partnerships


#: Materials the scope text of each partnership names: partner -> [(material, phrase that must
#: occur in the scope)]. Partners whose scope names only general terms map to [].
PARTNERSHIP_MATERIALS: dict[str, list[tuple[str, str]]] = {
    "Canada": [],
    "Ukraine": [("titanium", "titanium")],
    "Kazakhstan": [],
    "Namibia": [],
    "Argentina": [("lithium", "lithium")],
    "Chile": [("lithium", "lithium"), ("copper", "copper")],
    "Democratic Republic of the Congo": [
        ("cobalt", "cobalt"),
        ("copper", "copper"),
        ("tantalum", "tantalum"),
    ],
    "Zambia": [
        ("copper", "copper"),
        ("cobalt", "cobalt"),
        ("nickel", "nickel"),
        ("manganese", "manganese"),
    ],
    "Greenland": [],
    "Rwanda": [
        ("tantalum", "tantalum"),
        ("tin", "tin"),
        ("tungsten", "tungsten"),
        ("gold", "gold"),
        ("niobium", "niobium"),
        ("lithium", "lithium"),
        ("rare_earths", "REE"),
    ],
    "Norway": [
        ("rare_earths", "REE"),
        ("magnesium", "Mg"),
        ("titanium", "Ti"),
        ("phosphate_rock", "phosphate"),
    ],
    "Uzbekistan": [("copper", "copper"), ("molybdenum", "molybdenum"), ("gold", "gold")],
    "Australia": [],
    "Serbia": [("lithium", "lithium")],
    "United States": [],
}

#: Partner names of the partnerships file -> actor label of policy_events.
PARTNER_ACTOR = {"Democratic Republic of the Congo": "DRC", "United States": "US"}


def build_partnerships(b: Build) -> None:
    p = _read(b, "crma-projects-and-partnerships", "eu_raw_materials_partnerships_mou.csv")
    events = b.tables["policy_events"]
    rows = []
    for r in p.itertuples(index=False):
        if r.partner not in PARTNERSHIP_MATERIALS:
            _fail(f"partnership with {r.partner}: no materials curated")
        for mat, phrase in PARTNERSHIP_MATERIALS[r.partner]:
            if phrase not in r.materials_or_scope:
                _fail(f"partnership with {r.partner}: '{phrase}' ({mat}) not in its scope")
        iso = b.country(r.partner, "eu_raw_material_partnerships")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.date_signed):
            date, precision = r.date_signed, "day"
        elif re.match(r"\d{4}\b", r.date_signed):
            date, precision = f"{r.date_signed[:4]}-01-01", "year"
        else:
            _fail(f"partnership with {r.partner}: date '{r.date_signed}'")
        actor = PARTNER_ACTOR.get(r.partner, r.partner)
        hit = events[
            (events["date"] == pd.Timestamp(date))
            & events["actors"].str.split(";").map(lambda a, x=actor: "EU" in a and x in a)
        ]
        event_id: Any = pd.NA
        if len(hit) == 1:
            event_id = hit["event_id"].iloc[0]
        elif precision == "day":
            _fail(f"partnership with {r.partner} ({date}): {len(hit)} matching policy events")
        else:
            b.note(f"eu_raw_material_partnerships: {r.partner} ({r.date_signed}) has no event row")
        rows.append(
            {
                "partnership_id": f"RMP-{iso}-{date[:4]}",
                "partner": r.partner,
                "country": iso,
                "date_signed": date,
                "date_precision": precision,
                "date_text": r.date_signed,
                "instrument": r.instrument,
                "materials": _join(m for m, _ in PARTNERSHIP_MATERIALS[r.partner]),
                "scope": r.materials_or_scope,
                "event_id": event_id,
                "note": _na(r.note),
                "source_url": r.source_url,
                "source_id": "eu_raw_material_partnerships",
            }
        )
    b.add("eu_raw_material_partnerships", pd.DataFrame(rows))


# --------------------------------------------------------------------------- benchmarks


_BENCHMARK_KEYS = {
    "extraction": ("extraction", "extraction", "at_least", "Art. 5(1)(a)(i)"),
    "processing": ("processing", "processing", "at_least", "Art. 5(1)(a)(ii)"),
    "recycling": ("recycling", "recycling", "at_least", "Art. 5(1)(a)(iii)"),
    "single third country cap": ("single_third_country_cap", "all", "at_most", "Art. 5(1)(b)"),
    "permitting (extraction strategic projects)": (
        "permitting_extraction",
        "extraction",
        "at_most",
        "not verified",
    ),
    "permitting (processing/recycling strategic projects)": (
        "permitting_other",
        pd.NA,
        "at_most",
        "not verified",
    ),
}

_VERSIONS = {
    "proposal_2023": "2023-03-16",
    "council_mandate_2023": "2023-06-30",
    "ep_position_2023": "2023-09-14",
    "provisional_agreement_2023": "2023-11-13",
    "final_2024": "2024-04-11",
}

_COUNCIL_URL = "https://www.crmalliance.eu/post/member-states-reach-agreement-on-crm-act"
_AGREEMENT_URL = "https://www.crmalliance.eu/post/provisional-agreement-on-the-critical-raw-materials-act-reached"

#: Values (percent) of versions between proposal and final act that the shared file does not
#: tabulate (read with the search tool; URL per value).
EXTRA_VERSIONS = (
    ("processing", "council_mandate_2023", 50.0, _COUNCIL_URL),
    ("recycling", "council_mandate_2023", 20.0, _COUNCIL_URL),
    ("extraction", "provisional_agreement_2023", 10.0, _AGREEMENT_URL),
    ("processing", "provisional_agreement_2023", 40.0, _AGREEMENT_URL),
)

#: What Regulation (EU) 2024/1252 Art. 5(1) sets (checked against the transcription).
FINAL_BENCHMARKS = {
    "extraction": 0.10,
    "processing": 0.40,
    "recycling": 0.25,
    "single_third_country_cap": 0.65,
}


def _first_number(text: str) -> float:
    m = re.match(r"\s*([\d.]+)", text)
    if m is None:
        raise ValueError(f"no number in '{text}'")
    return float(m.group(1))


def build_benchmarks(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "crma_benchmarks_proposal_vs_final.csv")
    rows = []

    def add(bench: str, version: str, value: float, definition: str, url: str) -> None:
        key, stage, comparison, article = next(v for v in _BENCHMARK_KEYS.values() if v[0] == bench)
        months = bench.startswith("permitting")
        rows.append(
            {
                "benchmark": key,
                "version": version,
                "version_date": _VERSIONS[version],
                "in_force": version == "final_2024",
                "stage": stage,
                "threshold": value if months else value / 100,
                "unit": "months" if months else "fraction of EU annual consumption",
                "comparison": comparison,
                "target_year": pd.NA if months else 2030,
                "article": article if version == "final_2024" else "not verified",
                "definition": definition,
                "source_url": url,
                "source_id": "crma_benchmark_versions",
            }
        )

    defs = {}
    for r in f.itertuples(index=False):
        if r.benchmark not in _BENCHMARK_KEYS:
            _fail(f"crma_benchmarks: unknown benchmark '{r.benchmark}'")
        key = _BENCHMARK_KEYS[r.benchmark][0]
        defs[key] = r.unit_definition
        add(
            key,
            "proposal_2023",
            _first_number(r.proposal_2023_value),
            r.unit_definition,
            r.source_proposal,
        )
        add(key, "final_2024", _first_number(r.final_2024_value), r.unit_definition, r.source_final)
        inter = _text(r.intermediate)
        if inter.startswith("European Parliament position:"):
            add(
                key,
                "ep_position_2023",
                _first_number(inter.split(":")[1]),
                r.unit_definition,
                r.source_final,
            )
        elif "provisional agreement" in inter or "in agreement" in inter:
            add(
                key,
                "provisional_agreement_2023",
                _first_number(r.final_2024_value),
                r.unit_definition,
                r.source_final,
            )
        elif inter:
            _fail(f"crma_benchmarks: unread intermediate value '{inter}'")
    for key, version, value, url in EXTRA_VERSIONS:
        add(key, version, value, defs[key], url)
    table = b.add("crma_benchmarks", pd.DataFrame(rows))
    final = table[table["version"] == "final_2024"].set_index("benchmark")["threshold"]
    for key, value in FINAL_BENCHMARKS.items():
        if abs(float(final[key]) - value) > 1e-9:
            _fail(f"crma_benchmarks: final {key} {final[key]} != {value} (Art. 5(1))")
    proposal = table[table["version"] == "proposal_2023"].set_index("benchmark")["threshold"]
    b.note(
        f"crma_benchmarks: recycling {proposal['recycling']:.0%} in the 2023 proposal, "
        f"{final['recycling']:.0%} in Regulation (EU) 2024/1252 Art. 5(1)(a)(iii)"
    )


# --------------------------------------------------------------------------- tracker inputs


_STAGE_LETTER = {"E": "extraction", "P": "processing"}


def _bool(text: str) -> Any:
    return {"True": True, "False": False}.get(_text(text), pd.NA)


def build_eu_sourcing(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "crma_srm_eu_sourcing_concentration_crm2023_derived.csv")
    rows = []
    for r in f.itertuples(index=False):
        year_from, year_to = _years(r.reference_period)
        largest = r.largest_third_country
        no_supplier = largest.startswith("none listed")
        rows.append(
            {
                "srm": r.srm_crma_annex_I,
                "material": b.material(r.crm2023_ir_material, "crma_eu_sourcing_2023"),
                "stage": _STAGE_LETTER[r.stage],
                "stages_assessed": ";".join(
                    _STAGE_LETTER[x] for x in r.stages_assessed_crm2023.split("+")
                ),
                "sourcing_material": _na(r.crm2023_sourcing_material),
                "eu27_share": _pct(r.eu27_members_listed_share_sum_pct),
                "largest_third_country": pd.NA
                if no_supplier
                else _country(b, largest, "crma_eu_sourcing_2023"),
                "largest_third_country_share": _pct(r.largest_third_country_share_pct),
                "second_third_country": _country(
                    b, r.second_third_country, "crma_eu_sourcing_2023"
                ),
                "second_third_country_share": _pct(r.second_third_country_share_pct),
                "third_country_above_65pct": _bool(r.third_country_above_65pct),
                "n_countries_listed": _na(r.n_countries_listed),
                "import_reliance": _pct(r.import_reliance_pct_crm2023),
                "self_supply_proxy": _pct(r.implied_eu_self_supply_pct_100_minus_IR),
                "eol_rir": _pct(r.eol_rir_pct_crm2023),
                "period": r.reference_period,
                "year_from": year_from,
                "year_to": year_to,
                "notes": _na(
                    "; ".join(x for x in (_text(r.notes), largest if no_supplier else "") if x)
                ),
                "source_id": "crma_eu_sourcing_2023_derived",
            }
        )
    table = b.add("crma_eu_sourcing_2023", pd.DataFrame(rows))
    _cross_check_sourcing(b, table)


def _cross_check_sourcing(b: Build, table: pd.DataFrame) -> None:
    """Recompute shares, IR and EoL-RIR from the EU 2023 tables; note every difference."""
    assert b.ctx is not None
    eus = b.tables["eu_crm_2023"]
    eus = eus[eus["mix"] == "eu_sourcing"]
    eu27 = set(b.tables["countries"].query("eu27")["country"])
    params = b.tables["eu_crm_2023_parameters"].set_index("material")
    tol = 0.006  # the derived file rounds to whole percent
    diffs = compared = 0
    for r in table.itertuples(index=False):
        src = (
            b.ctx.materials.lookup(r.sourcing_material)
            if isinstance(r.sourcing_material, str)
            else None
        )
        found = []
        if src is not None:
            sub = eus[(eus["material"] == src) & (eus["stage"] == r.stage)]
            if len(sub):
                third = sub[~sub["country"].isin(eu27)].sort_values("share", ascending=False)
                found.append(("eu27_share", sub[sub["country"].isin(eu27)]["share"].sum()))
                if len(third):
                    found.append(("largest_third_country_share", third["share"].iloc[0]))
                    if third["country"].iloc[0] != r.largest_third_country:
                        diffs += 1
                        b.note(
                            f"crma_eu_sourcing_2023 {r.material}/{r.stage}: largest third country "
                            f"{r.largest_third_country} in the file, {third['country'].iloc[0]} in "
                            "eu_crm_2023"
                        )
        if r.material in params.index:
            ir = params.loc[r.material, f"ir_{r.stage}"]
            found += [("import_reliance", ir), ("eol_rir", params.loc[r.material, "eol_rir"])]
        for col, value in found:
            ours = getattr(r, col)
            if pd.isna(value) or pd.isna(ours):
                continue
            compared += 1
            if abs(float(ours) - float(value)) > tol:
                diffs += 1
                b.note(
                    f"crma_eu_sourcing_2023 {r.material}/{r.stage}: {col} {float(ours):.2f} in the "
                    f"file, {float(value):.3f} recomputed from the EU 2023 tables"
                )
    b.note(
        f"crma_eu_sourcing_2023: {compared} values of {len(table)} rows recomputed from "
        f"eu_crm_2023 and eu_crm_2023_parameters (EU27 share, largest third-country share, IR, "
        f"EoL-RIR; tolerance {tol}): {diffs} differences"
    )


_STATUS_BENCHMARK = {
    "extraction_10pct": ("extraction", "self_sufficiency", 0.10),
    "processing_40pct": ("processing", "self_sufficiency", 0.40),
    "recycling_25pct (EOL-RIR proxy)": ("recycling", "eol_rir_proxy", 0.25),
    "diversification_max65pct_one_third_country": (
        "single_third_country_cap",
        "supplier_share",
        0.65,
    ),
}


def _bounds(text: str) -> tuple[Any, Any]:
    """'<2' -> (NA, 0.02); '>80' -> (0.8, NA); '4 to 10' -> (0.04, 0.1); '0' -> (0, 0)."""
    s = _text(text)
    if not s:
        return pd.NA, pd.NA
    m = re.fullmatch(r"([\d.]+)\s*to\s*([\d.]+)", s)
    if m:
        return float(m.group(1)) / 100, float(m.group(2)) / 100
    if s.startswith("<"):
        return pd.NA, float(s[1:]) / 100
    if s.startswith(">"):
        return float(s[1:]) / 100, pd.NA
    v = float(s) / 100
    return v, v


def _status(benchmark: str, text: str) -> str:
    t = text.lower()
    if re.search(r"not assessed|insufficient data", t):
        return "unknown"
    if benchmark == "single_third_country_cap":
        return "not_met" if "above 65%" in t else "unknown"
    if "above benchmark" in t:
        return "met"
    if re.search(r"below|zero|between", t):
        return "not_met"
    raise ValueError(f"status '{text}' not understood")


def _contradicts(status: str, low: Any, high: Any, threshold: float, *, cap: bool) -> bool:
    """True when the stated bounds contradict the status read from the words."""
    good, bad = ("met", "not_met") if not cap else ("not_met", "met")
    # floors: met needs a value >= threshold; caps: not_met needs a value >= the cap
    if status == good and not pd.isna(high) and high < threshold:
        return True
    return status == bad and not pd.isna(low) and low > threshold


def build_status_qualitative(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "crma_benchmark_status_qualitative_2022.csv")
    rows = []
    for r in f.itertuples(index=False):
        bench, basis, threshold = _STATUS_BENCHMARK[r.benchmark]
        low, high = _bounds(r.value_pct_as_stated)
        try:
            status = _status(bench, r.status)
        except ValueError as exc:
            _fail(f"crma_status_qualitative {r.material}/{r.benchmark}: {exc}")
        if _contradicts(status, low, high, threshold, cap=bench == "single_third_country_cap"):
            _fail(
                f"crma_status_qualitative {r.material}/{bench}: '{r.status}' contradicts the "
                f"stated value {r.value_pct_as_stated}"
            )
        eca = "spglobal" in r.source_url
        _, year_to = _years(r.period)
        rows.append(
            {
                "material": b.material(r.material, "crma_status_qualitative"),
                "benchmark": bench,
                "benchmark_text": r.benchmark,
                "assessment": "eca_2026" if eca else "ewaste_column_2022",
                "status": status,
                "status_text": r.status,
                "value_text": _na(r.value_pct_as_stated),
                "value_low": low,
                "value_high": high,
                "basis": basis,
                "period": r.period,
                "year_to": year_to,
                "secondary_source": True,
                "source_url": r.source_url,
                "source_note": _na(r.source_note),
                "source_id": "eca_2026_press" if eca else "ewaste_column_crma_progress",
            }
        )
    b.add("crma_status_qualitative", pd.DataFrame(rows))


def _material_text(text: str) -> str:
    """'silicon metal (printed as "Dark metal")' -> 'silicon metal'."""
    return re.sub(r"\s*\(.*\)\s*$", "", text).strip()


def build_eca_shares(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "eca_2026_eu_main_supplier_shares_press.csv")
    out = pd.DataFrame(
        {
            "material": [b.material(_material_text(m), "eca_2026") for m in f["material"]],
            "material_text": f["material"],
            "country": [b.country(c, "eca_2026") for c in f["supplier_country"]],
            "share": [_pct(v) for v in f["share_of_eu_supply_pct"]],
            "year": 2026,
            "secondary_source": True,
            "notes": f["notes"].replace("", pd.NA),
            "source_url": f["source_url"],
            "source_id": "eca_2026_press",
        }
    )
    b.add("eca_2026_supplier_shares", out)


def _number(text: str) -> Any:
    """Leading number of '>80', 'up to 40', '16000', '~70'; NA when there is none or several."""
    s = _text(text).replace(",", "")
    m = re.fullmatch(r"(?:[<>~]|up to |e\.g\. )?\s*([\d.]+)\s*(?:x)?", s)
    return float(m.group(1)) if m else pd.NA


def build_outlook(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "eu_2030_benchmark_outlook_projections.csv")
    rows = []
    for n, r in enumerate(f.itertuples(index=False), start=1):
        names = [x for x in r.material.split(";") if x]
        mats = [b.material(x, "crma_outlook_2030") for x in names]
        value = _number(r.value)
        rows.append(
            {
                "outlook_id": f"OUT-{n:02d}",
                "materials": ";".join(dict.fromkeys(mats)),
                "materials_text": r.material,
                "stage": "all" if r.stage == "all stages" else r.stage,
                "metric": r.metric,
                "value": value,
                "value_text": r.value,
                "unit": _na(r.unit),
                "value_fraction": value / 100 if r.unit == "%" and not pd.isna(value) else pd.NA,
                "year": int(r.year),
                "projection_by": r.projection_by,
                "secondary_source": "transportenvironment.org" not in r.source_url,
                "notes": _na(r.notes),
                "source_url": r.source_url,
                "source_id": "crma_outlook_2030",
            }
        )
    b.add("crma_outlook_2030", pd.DataFrame(rows))


def build_consumption_datapoints(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "eu_consumption_import_datapoints.csv")
    rows = []
    for n, r in enumerate(f.itertuples(index=False), start=1):
        items = read_items(b, r.material, "eu_consumption_datapoints")
        mats = [it.material for it in items if it.material]
        year_from, year_to = _years(r.period)
        rows.append(
            {
                "datapoint_id": f"EUC-{n:02d}",
                "product": r.material,
                "material": mats[0] if len(mats) == 1 else pd.NA,
                "metric": r.metric,
                "value": _number(r.value),
                "value_text": r.value,
                "unit": _na(r.unit),
                "period": _na(r.period),
                "year_from": year_from,
                "year_to": year_to,
                "context": _na(r.context),
                "original_source": _na(r.original_source),
                "source_type": _na(r.source_type),
                "secondary_source": not r.source_type.startswith("primary"),
                "source_url": r.source_url,
                "source_id": "eu_consumption_datapoints",
            }
        )
    b.add("eu_consumption_datapoints", pd.DataFrame(rows))


def build_producer_shares(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "crm2020_factsheets_largest_producer_shares.csv")
    out = pd.DataFrame(
        {
            "material": [b.material(m, "crm2020_factsheets") for m in f["material"]],
            "material_text": f["material"],
            "country": [b.country(c, "crm2020_factsheets") for c in f["country"]],
            "share": [_pct(v) for v in f["share_pct"]],
            "basis": "global_supply",
            "year": 2020,
            "interpretation_note": f["interpretation_note"].replace("", pd.NA),
            "source_url": f["source_url"],
            "source_id": "crm2020_factsheets",
        }
    )
    b.add("crm2020_producer_shares", out)


def build_refining(b: Build) -> None:
    f = _read(b, "crma-benchmark-inputs", "global_refining_concentration_iea.csv")
    rows = []
    for n, r in enumerate(f.itertuples(index=False), start=1):
        names = [_material_text(x) for x in r.materials.split(";")]
        mats = []
        for name in names:
            items = _read_item(b, name, "iea_refining")
            mats += [it.material for it in items if it.material]
        if not mats:
            _fail(f"iea_refining_concentration row {n}: no material in '{r.materials}'")
        country: Any = pd.NA
        share = _number(r.value)
        if "China" in r.metric:
            country = "CHN"
        elif r.metric == "top refiner":
            country = b.country(r.value, "iea_refining")
        quality = r.source_type.split()[0].lower()
        rows.append(
            {
                "row_id": f"IEA-{n:02d}",
                "materials": ";".join(dict.fromkeys(mats)),
                "materials_text": r.materials,
                "metric": r.metric,
                "country": country,
                "share": share / 100 if not pd.isna(share) else pd.NA,
                "value_text": r.value,
                "year": int(r.year),
                "projection": "projection" in r.metric,
                "original_source": _na(r.original_source),
                "quality": "low" if quality == "low" else quality,
                "source_url": r.source_url,
                "source_id": "iea_critical_minerals",
            }
        )
    b.add("iea_refining_concentration", pd.DataFrame(rows))


# --------------------------------------------------------------------------- stockpiles


#: Published units of Table 10-1 -> (key of the units table, what the quantity counts).
DOD_UNITS = {
    "short tons": ("short ton", "gross"),
    "pounds": ("lb", "gross"),
    "pounds W": ("lb", "element"),
    "pounds Ta": ("lb", "element"),
    "kilograms": ("kg", "gross"),
    "kg oxide": ("kg", "oxide"),
    "MT oxide": ("t", "oxide"),
    "metric tons": ("t", "gross"),
}

#: Listed names -> knowledge-base material (None: not a knowledge-base material).
DOD_MATERIALS: dict[str, str | None] = {
    "Aluminum Oxide, Fused Crude": None,
    "Chromium Metal": "chromium",
    "Fluorspar, Acid Grade": "fluorspar",
    "Manganese Metal, Electrolytic": "manganese",
    "Silicon Carbide": None,
}

#: Published totals of Table 10-1 ($M) and the gap of the transcribed rows to them.
DOD_TOTALS = (1221.41, 642.66, 578.75)
#: The transcribed rows' with-extra-buy column exceeds 642.66 (and their reductions fall short
#: of 578.75) by this much: the extra-buy values of one or more rows are mis-transcribed. The
#: build fails if the gap changes, so a corrected file is noticed.
DOD_KNOWN_GAP_MUSD = 352.19


def check_dod_table(rows: pd.DataFrame) -> list[str]:
    """Arithmetic problems of the Table 10-1 material rows (METHODS §6.1, TV4).

    Each row: reduction = base - with extra buy (units within 1 for rounding, $M within
    0.011); the base column sums to the published 1,221.41 $M (ambiguous Tb/Tm pair counted
    through its text); the published totals obey 1,221.41 - 642.66 = 578.75; the with-extra-buy
    and reduction columns miss the totals by exactly :data:`DOD_KNOWN_GAP_MUSD`.
    """
    problems: list[str] = []
    clean = rows.dropna(subset=["base_musd"])
    for r in clean.itertuples(index=False):
        if abs(r.base_units - r.extra_buy_units - r.reduction_units) > 1.0:
            problems.append(
                f"{r.listed_name}: units {r.base_units} - {r.extra_buy_units} "
                f"!= {r.reduction_units}"
            )
        if abs(r.base_musd - r.extra_buy_musd - r.reduction_musd) > 0.011:
            problems.append(
                f"{r.listed_name}: $M {r.base_musd} - {r.extra_buy_musd} != {r.reduction_musd}"
            )
    # the Tb/Tm pair: each row's text lists both candidates ('$M 3.31 or 7.16'), one of which
    # is the row's own value, so the pair's sum is the sum of the two candidates of one row
    pair_text = " ".join(rows.loc[rows["base_musd"].isna(), "values_text"].dropna())
    cand = re.findall(r"\$M ([\d.]+) or ([\d.]+)", pair_text)
    pair_musd = float(cand[0][0]) + float(cand[0][1]) if cand else 0.0
    pair_extra = float(cand[1][0]) + float(cand[1][1]) if len(cand) > 1 else 0.0
    base, extra, red = DOD_TOTALS
    if abs(clean["base_musd"].sum() + pair_musd - base) > 0.015:
        problems.append(
            f"base column sums to {clean['base_musd'].sum() + pair_musd:.2f}, published {base}"
        )
    if abs(base - extra - red) > 0.005:
        problems.append(f"published totals {base} - {extra} != {red}")
    gap_extra = clean["extra_buy_musd"].sum() + pair_extra - extra
    gap_red = red - clean["reduction_musd"].sum()
    for name, gap in (("with extra buy", gap_extra), ("reduction", gap_red)):
        if abs(gap - DOD_KNOWN_GAP_MUSD) > 0.015:
            problems.append(
                f"{name} column misses the published total by {gap:.2f} $M, "
                f"known gap {DOD_KNOWN_GAP_MUSD}"
            )
    return problems


def build_dod_table(b: Build) -> None:
    f = _read(b, "stockpiles-and-decisions", "dod_2013_nds_base_case_shortfalls_extra_buy.csv")
    factors = b.tables["units"].set_index("unit")["factor_to_canonical"].astype(float)
    rows = []
    for r in f.itertuples(index=False):
        total = r.material == "TOTAL"
        numbers = {}
        ambiguous = " or " in f"{r.base_case_shortfall_units} {r.base_case_shortfall_musd}"
        for col, src in (
            ("base_units", r.base_case_shortfall_units),
            ("base_musd", r.base_case_shortfall_musd),
            ("extra_buy_units", r.shortfall_with_extra_buy_units),
            ("extra_buy_musd", r.shortfall_with_extra_buy_musd),
            ("reduction_units", r.reduction_units),
            ("reduction_musd", r.reduction_musd),
        ):
            numbers[col] = pd.NA if ambiguous or not _text(src) else float(src)
        if ambiguous:
            numbers["reduction_units"], numbers["reduction_musd"] = 0.0, 0.0
            text = (
                f"base {r.base_case_shortfall_units} units / $M {r.base_case_shortfall_musd}; "
                f"with extra buy {r.shortfall_with_extra_buy_units} / $M "
                f"{r.shortfall_with_extra_buy_musd}"
            )
        else:
            text = pd.NA
        unit_key, basis = (None, pd.NA) if total else DOD_UNITS[r.units]
        factor = factors[unit_key] if unit_key else None
        tonnes = {
            f"{k}_t": (
                numbers[f"{k}_units"] * factor
                if factor and not pd.isna(numbers[f"{k}_units"])
                else pd.NA
            )
            for k in ("base", "extra_buy", "reduction")
        }
        base_u, base_m = numbers["base_units"], numbers["base_musd"]
        per_unit = base_m * 1e6 / base_u if not pd.isna(base_u) and base_u else pd.NA
        material = DOD_MATERIALS.get(r.material, "") if not total else None
        if material == "":
            material = b.material(r.material, "dod_2013_nds")
        rows.append(
            {
                "listed_name": r.material,
                "material": material or pd.NA,
                "row_kind": "published_total" if total else "material",
                "unit": "USD million" if total else r.units,
                "quantity_basis": basis,
                **numbers,
                **tonnes,
                "usd_per_unit": per_unit,
                "usd_per_t": per_unit / factor if factor and not pd.isna(per_unit) else pd.NA,
                "values_text": text,
                # rows re-ordered or inferred from the jumbled text layer (not 'clean')
                "extra_buy_doubtful": (not total) and not r.transcription_note.startswith("clean"),
                "transcription_note": _na(r.transcription_note),
                "source_id": "dod_2013_nds_requirements",
            }
        )
    table = b.add("nds_2013_shortfalls", pd.DataFrame(rows))
    mats = table[table["row_kind"] == "material"]
    problems = check_dod_table(mats)
    if problems:
        _fail("nds_2013_shortfalls arithmetic:\n  " + "\n  ".join(problems))
    doubtful = mats[mats["extra_buy_doubtful"]]
    tin = float(doubtful.loc[doubtful["listed_name"] == "Tin", "base_musd"].sum())
    others = float(doubtful["base_musd"].sum()) - tin + 3.31 + 7.16  # with the Tb/Tm pair
    b.note(
        "nds_2013_shortfalls: every row has reduction = base - with extra buy (units within 1, "
        "$M within 0.01); the base column sums to the published 1,221.41 $M; the rows' "
        f"with-extra-buy and reduction columns miss 642.66 / 578.75 by {DOD_KNOWN_GAP_MUSD} $M. "
        f"The {len(doubtful)} rows re-ordered or inferred from the jumbled text layer are "
        f"flagged extra_buy_doubtful; apart from tin ({tin:.2f} $M base) they total "
        f"{others:.2f} $M, less than the gap, so (if the 'clean' rows are right) the tin row's "
        "extra-buy value is wrong"
    )


_SECONDARY = re.compile(
    r"particle\.news|blog|linkedin|minerals make life|marketvector|argus|5ch|low-quality|forum|"
    r"ag metal miner|revolution|japan forward|wttlonline|economie",
    re.IGNORECASE,
)

#: Fact items that concern one material (the name must occur in the item or value text).
FACT_MATERIALS = {
    "of which cobalt": "cobalt",
    "of which antimony": "antimony",
    "of which tantalum": "tantalum",
    "of which scandium": "scandium",
    "DLA europium procurement plan 2017: 99.99% Eu oxide": "europium",
    "DLA europium procurement plan 2017: 99.999% Eu oxide": "europium",
    "DLA yttrium oxide acquired 2016 vs target": "yttrium",
    "FY2025 zinc disposal award (example of AMP sale)": "zinc",
    "2013 Report: only defence (military) shortfall": "beryllium",
}

_FACT_UNITS = {"t": "t", "short tons": "short ton"}


def _value(text: str) -> tuple[Any, Any]:
    """(number, bound) of a fact value: '<50' -> (50, upper), 'e.g. 180' -> (180, approximate)."""
    s = _text(text).replace(",", "")
    m = re.fullmatch(r"(<|>|~|up to |e\.g\. )?\s*([\d.]+)(?:\s*\(.*\))?", s)
    if m is None:
        m2 = re.fullmatch(r"(\d+): .*", s)
        return (float(m2.group(1)), "exact") if m2 else (pd.NA, pd.NA)
    bound = {
        "<": "upper",
        "up to ": "upper",
        ">": "lower",
        "~": "approximate",
        "e.g. ": "approximate",
    }
    return float(m.group(2)), bound.get(m.group(1) or "", "exact")


def build_stockpile_facts(b: Build) -> None:
    factors = b.tables["units"].set_index("unit")["factor_to_canonical"].astype(float)
    rows = []
    for programme, prefix, name, source in (
        ("us_nds", "NDS", "us_nds_facts.csv", "us_nds_facts"),
        ("jogmec", "JOG", "jogmec_stockpile_facts.csv", "jogmec_stockpile_facts"),
    ):
        f = pd.read_csv(b.ref / "stockpiles-and-decisions" / name, dtype=str, keep_default_na=False)
        parent: str | None = None
        last_url: Any = pd.NA
        for n, r in enumerate(f.itertuples(index=False), start=1):
            fid = f"{prefix}-{n:02d}"
            item = r.item.strip()
            sub = r.item.startswith(" ")
            if not sub:
                parent = fid
            url = _text(r.source_url)
            if url in ("same", "same (as above)"):
                url = last_url
            last_url = url or last_url
            material = FACT_MATERIALS.get(item)
            if material and material[:4] not in f"{item} {r.value}".lower():
                _fail(f"stockpile_facts {fid}: '{item}' does not name {material}")
            value, bound = _value(r.value)
            unit_key = _FACT_UNITS.get(_text(r.unit))
            rows.append(
                {
                    "fact_id": fid,
                    "programme": programme,
                    "item": item,
                    "part_of": parent if sub else pd.NA,
                    "material": b.material(material, source) if material else pd.NA,
                    "value": value,
                    "value_bound": bound,
                    "value_text": _na(r.value),
                    "unit": _na(r.unit),
                    "value_t": value * factors[unit_key]
                    if unit_key and not pd.isna(value)
                    else pd.NA,
                    "citation": r.source,
                    "source_url": url or pd.NA,
                    "secondary_source": bool(_SECONDARY.search(r.source)),
                    "source_id": source,
                }
            )
    b.add("stockpile_facts", pd.DataFrame(rows))


#: Items of lead_times_cost_premia about one material.
LEAD_TIME_MATERIALS = {
    "Copper mines brought online 2020-2023": "copper",
    "Lithium: initial feasibility to production (IEA, via press)": "lithium",
    "Refinery construction time example (Mkango Pulawy)": "rare_earths",
    "REE value chain Europe vs China cost gap": "rare_earths",
    "Chinese REE products cheaper than European (industry source)": "rare_earths",
    "Permanent magnets EU production cost vs elsewhere": "rare_earths",
    "EU magnet-grade REE oxide demand 2030 / EU supply 2030": "rare_earths",
    "Non-China REE mining projects economically feasible by 2030": "rare_earths",
    "Magnet recycling material available for Europe": "rare_earths",
}

#: The only row quoting its own publication (every other figure is quoted by a third party).
LEAD_TIME_PRIMARY = {"S&P Global Market Intelligence (Manalo, 6 Jun 2023)"}


def _range(text: str) -> tuple[Any, Any, Any]:
    """(value, low, high): '6-19' -> (12.5, 6, 19); '~18 (...)' -> (18, NA, NA); 'up to 3x'."""
    s = _text(text).replace(",", "")
    m = re.fullmatch(r"([\d.]+)\s*-\s*([\d.]+)", s)
    if m:
        low, high = float(m.group(1)), float(m.group(2))
        return (low + high) / 2, low, high
    m = re.fullmatch(r"up to ([\d.]+)x?", s)
    if m:
        return pd.NA, pd.NA, float(m.group(1))
    m = re.fullmatch(r"~?(\d+)/(\d+)", s)
    if m:
        return float(m.group(1)) / float(m.group(2)), pd.NA, pd.NA
    m = re.fullmatch(r"~?([\d.]+)(?:\s*\(.*\))?", s)
    return (float(m.group(1)), pd.NA, pd.NA) if m else (pd.NA, pd.NA, pd.NA)


def build_lead_times(b: Build) -> None:
    f = _read(b, "stockpiles-and-decisions", "lead_times_cost_premia.csv")
    rows = []
    last_url: Any = pd.NA
    for n, r in enumerate(f.itertuples(index=False), start=1):
        value, low, high = _range(r.value)
        unit_range = re.search(r"range ([\d.]+)-([\d.]+)", r.unit)
        if unit_range and pd.isna(low):
            low, high = float(unit_range.group(1)), float(unit_range.group(2))
        url = _text(r.source_url)
        url = last_url if url == "same" else url
        last_url = url or last_url
        material = LEAD_TIME_MATERIALS.get(r.item)
        rows.append(
            {
                "fact_id": f"LT-{n:02d}",
                "category": r.category,
                "item": r.item,
                "material": b.material(material, "lead_times_cost_premia") if material else pd.NA,
                "value": value,
                "value_low": low,
                "value_high": high,
                "value_text": r.value,
                "unit": _na(r.unit),
                "citation": r.source,
                "source_url": url or pd.NA,
                "secondary_source": r.source not in LEAD_TIME_PRIMARY,
                "source_id": "lead_times_cost_premia",
            }
        )
    b.add("lead_times_cost_premia", pd.DataFrame(rows))


# --------------------------------------------------------------------------- entry point


def build(b: Build) -> None:
    """Add the policy, CRMA and decision tables to the build (see the module docstring)."""
    build_policy_events(b)
    build_crma_projects(b)
    build_partnerships(b)
    build_benchmarks(b)
    build_eu_sourcing(b)
    build_status_qualitative(b)
    build_eca_shares(b)
    build_outlook(b)
    build_consumption_datapoints(b)
    build_producer_shares(b)
    build_refining(b)
    build_dod_table(b)
    build_stockpile_facts(b)
    build_lead_times(b)
