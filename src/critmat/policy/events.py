"""The policy event record as a query: filter ``policy_events`` by actor, type, material, year.

The record (``policy_events``, 168 events 2008-2025 plus the seed's earlier context, and
your imported events) is a cited table of the knowledge base; :func:`events` selects rows of
it. Materials are matched by canonical id through ``policy_event_materials`` (the long form
of the events' material lists): asking for ``neodymium`` also finds events that name a group
containing it (``lree``, ``rare_earths``), and the ``matched_by`` column says which. A name
the knowledge base does not know (``coke``, ``silicon carbide``) is matched against the
names the record keeps unresolved (``materials_unresolved``) and flagged as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.dims import GROUP_MATERIALS
from critmat.errors import ParameterError, UnknownNameError, closest
from critmat.params import Selection, parse_years, split_list
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "ACTORS",
    "INSTRUMENT_TYPES",
    "ancestors",
    "events",
    "naming",
]

#: The five actors the toolkit comparison covers (the record's vocabulary has more).
ACTORS = ("EU", "US", "Japan", "China", "NATO")

#: Instrument types of the record (issue 14 vocabulary), in the order of the schema.
INSTRUMENT_TYPES = (
    "list",
    "law",
    "strategy",
    "stockpile",
    "export_control",
    "wto_dispute",
    "partnership",
    "funding",
    "subsidy",
    "report",
    "dialogue",
    "trade_policy",
    "industry_action",
)

#: Columns of :func:`events`, in order.
EVENT_COLUMNS = [
    "event_id",
    "date",
    "date_precision",
    "year",
    "actor",
    "actors",
    "instrument_type",
    "materials",
    "materials_unresolved",
    "materials_status",
    "matched_by",
    "summary",
    "in_seed",
    "evidence",
    "record_issue",
    "verification_note",
    "primary_source_url",
    "secondary_source_url",
    "linked_table",
    "linked_project_event_id",
    "source_id",
]


def ancestors(kb: KnowledgeBase) -> dict[str, set[str]]:
    """Every material id and the group materials containing it (``neodymium -> {lree, ...}``).

    Built once per knowledge base (``kb.cache``, emptied when the data change); every
    call gets its own copy.
    """
    return {mat: set(groups) for mat, groups in _ancestors(kb).items()}


def _ancestors(kb: KnowledgeBase) -> dict[str, set[str]]:
    """:func:`ancestors`, shared (the caller must not change it)."""
    return kb.cache.get(("policy.events.ancestors",), lambda: _build_ancestors(kb))


def _build_ancestors(kb: KnowledgeBase) -> dict[str, set[str]]:
    m = kb.materials()[["material", "group"]]
    parent = dict(zip(m["material"], m["group"].map(GROUP_MATERIALS), strict=True))
    out: dict[str, set[str]] = {}
    for mat in m["material"]:
        seen: set[str] = set()
        cur = parent.get(mat)
        while isinstance(cur, str) and cur not in seen:
            seen.add(cur)
            cur = parent.get(cur)
        out[str(mat)] = seen
    return out


def _long_materials(kb: KnowledgeBase, ev: pd.DataFrame) -> pd.DataFrame:
    """``event_id, item, material`` of every event: the embedded long form plus the lists.

    The events' own ``materials`` / ``materials_unresolved`` lists are read too, so that
    events you import (which have no rows in ``policy_event_materials``) are found.
    ``ev`` is the whole record sorted by date and event id (as :func:`events` sorts it):
    the frame is built once per knowledge base (``kb.cache``, emptied when the data
    change) and shared, so the caller must not change it.
    """
    return kb.cache.get(("policy.events.long_materials",), lambda: _build_long(kb, ev))


def _build_long(kb: KnowledgeBase, ev: pd.DataFrame) -> pd.DataFrame:
    parts = [kb.table("policy_event_materials")[["event_id", "item", "material"]]]
    for col, is_id in (("materials", True), ("materials_unresolved", False)):
        x = ev[["event_id", col]].dropna()
        x = x.assign(item=x[col].astype(str).str.split(";")).explode("item")
        x["item"] = x["item"].str.strip()
        x = x[x["item"] != ""]
        x["material"] = x["item"] if is_id else pd.NA
        parts.append(x[["event_id", "item", "material"]])
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def naming(kb: KnowledgeBase, materials: list[str]) -> dict[str, set[str]]:
    """Ids of the events that name each material itself, for several materials at once.

    For a material id ``m`` that the knowledge base resolves to itself alone
    (``kb.select.materials(m) == [m]``), the ids are those of the rows of
    ``events(kb, materials=m)`` with ``matched_by == m`` (named directly, not through a
    group), read from one pass over the record instead of one :func:`events` call per
    material. A name that resolves to other ids (a group) is left out: ask :func:`events`.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Material ids.

    Returns
    -------
    dict
        ``material -> set of event ids`` for the materials that resolve to themselves.
    """
    ev = kb.table("policy_events").sort_values(["date", "event_id"], ignore_index=True)
    em = _long_materials(kb, ev)
    named = em.dropna(subset=["material"]).groupby("material")["event_id"].agg(set)
    out: dict[str, set[str]] = {}
    for m in materials:
        try:
            ids = kb.select.materials(m) or []
        except UnknownNameError:
            continue
        if ids == [m]:
            out[m] = set(named.get(m, set()))
    return out


def _vocab(values: list[str], allowed: list[str], flag: str) -> list[str]:
    by_lower = {a.lower(): a for a in allowed}
    out = []
    for v in values:
        key = v.strip().lower().replace("-", "_").replace(" ", "_")
        hit = by_lower.get(v.strip().lower()) or by_lower.get(key)
        if hit is None:
            hint = closest(v, allowed)
            raise ParameterError(
                f"{flag} {v!r} is not in the record; expected one of {', '.join(allowed)}"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        out.append(hit)
    return out


def events(
    kb: KnowledgeBase,
    *,
    actors: Selection = None,
    types: Selection = None,
    materials: Selection = None,
    years: Any = None,
    any_actor: bool = False,
) -> pd.DataFrame:
    """Events of the policy record, filtered.

    Parameters
    ----------
    kb
        Knowledge base (embedded record plus your imported ``policy_events``).
    actors
        Acting actors (``EU``, ``US``, ``Japan``, ``China``, ``NATO``, ``WTO``, partner
        countries, ...; case-insensitive), comma-separated or a list; all by default.
    types
        Instrument types (:data:`INSTRUMENT_TYPES`).
    materials
        Material names (ids, names, symbols, aliases: resolved to canonical ids). An event
        matches when it names the material or a group containing it. A name that is not a
        knowledge-base material is matched against the names the record keeps unresolved,
        and flagged (``matched_by = unresolved name``); one found in neither is an error.
    years
        Years of the event date (``2010``, ``2008-2015``, ``2010,2023``).
    any_actor
        Match ``actors`` against every actor of an event (partners too), not only the
        acting one.

    Returns
    -------
    pandas.DataFrame
        One row per event (:data:`EVENT_COLUMNS`), sorted by date.

    Raises
    ------
    critmat.errors.ParameterError
        For an actor or type not in the record (with the closest ones).
    critmat.errors.UnknownNameError
        For a material name found neither in the knowledge base nor in the record.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> e = kb.policy.events(actors="Japan", types="stockpile")
    >>> int(e["year"].min()), "SEED-JP-03" in set(e["event_id"])
    (1974, True)
    """
    ev = kb.table("policy_events")
    ev = ev.sort_values(["date", "event_id"], ignore_index=True)
    keep = pd.Series(True, index=ev.index)
    if (a := split_list(actors)) is not None:
        allowed = sorted({x for v in ev["actors"].dropna() for x in str(v).split(";")})
        chosen = set(_vocab(a, allowed, "--actors"))
        if any_actor:
            keep &= ev["actors"].fillna("").map(lambda v: bool(chosen & set(str(v).split(";"))))
        else:
            keep &= ev["actor"].isin(chosen)
    if (t := split_list(types)) is not None:
        keep &= ev["instrument_type"].isin(set(_vocab(t, list(INSTRUMENT_TYPES), "--types")))
    if (ys := parse_years(years)) is not None:
        keep &= ev["year"].isin(ys)
    matched_by = pd.Series("", index=ev.index, dtype=object)
    notes: list[str] = []
    if (names := split_list(materials)) is not None:
        em = _long_materials(kb, ev)
        up = _ancestors(kb)
        hit = pd.Series(False, index=ev.index)
        for name in names:
            try:
                ids = kb.select.materials(name) or []
            except UnknownNameError:
                un = em[em["material"].isna() & em["item"].str.lower().str.contains(name.lower())]
                if un.empty:
                    items = sorted(set(em.loc[em["material"].isna(), "item"].dropna()))
                    raise UnknownNameError(
                        "material",
                        name,
                        suggestions=closest(name, [*kb.materials()["material"], *items]),
                        where="materials= (neither a knowledge-base material nor a name "
                        "the policy record keeps unresolved)",
                    ) from None
                m = ev["event_id"].isin(set(un["event_id"]))
                matched_by = matched_by.where(~m | (matched_by != ""), f"unresolved name '{name}'")
                notes.append(
                    f"'{name}' is not a knowledge-base material: matched as a name the "
                    "record keeps unresolved"
                )
                hit |= m
                continue
            for mid in ids:
                direct = set(em.loc[em["material"] == mid, "event_id"])
                groups = up.get(mid, set())
                via = em[em["material"].isin(groups)]
                m_direct = ev["event_id"].isin(direct)
                m_group = ev["event_id"].isin(set(via["event_id"])) & ~m_direct
                matched_by = matched_by.where(~m_direct | (matched_by != ""), mid)
                grp = via.groupby("event_id")["material"].first()
                label = ev["event_id"].map(grp).map(lambda g, mid=mid: f"{mid} (via group {g})")
                matched_by = matched_by.where(~m_group | (matched_by != ""), label)
                hit |= m_direct | m_group
        keep &= hit
    out = ev[keep].copy()
    out["matched_by"] = matched_by[keep].replace("", pd.NA)
    out = out[[c for c in EVENT_COLUMNS if c in out.columns]].reset_index(drop=True)
    prov = kb.provenance(
        "policy.events", out, actors=actors, types=types, materials=materials, years=years
    )
    prov.sources = sorted(set(prov.sources) | {"policy_record_2008_2025"})
    prov.notes = [
        "date is known to date_precision (day, month, year, period); events named by "
        "materials_unresolved keep those names verbatim (materials_status)",
        *notes,
    ]
    return attach(out, prov)
