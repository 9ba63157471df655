"""Toolkit comparison: which instruments the EU, US, Japan, China and NATO used, and when.

From the event record (``policy_events``; the acting actor, ``actor``): per actor and
instrument type the number of events, the first and latest date, the counts by period and
up to three examples; a heat map of the counts; and for each pair of actors a short text
generated from that table only (every number in it is a cell of the table: tested).

``defence_specific`` counts events whose summary or acting body names defence (defence,
defense, military, DoD, NATO, Defense Production Act, armed forces, national security
stockpile): a keyword rule on the record's own words, not a judgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

import pandas as pd

from critmat.params import Selection, split_list
from critmat.policy.events import ACTORS, INSTRUMENT_TYPES, _vocab
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["COMPARE_COLUMNS", "PERIODS", "Comparison", "compare", "pair_texts"]

#: Periods of the counts (inclusive years).
PERIODS = (
    ("before 2008", 1900, 2007),
    ("2008-2012", 2008, 2012),
    ("2013-2017", 2013, 2017),
    ("2018-2022", 2018, 2022),
    ("2023-2025", 2023, 2025),
)

DEFENCE_PATTERN = (
    r"defen[cs]e|military|\bDoD\b|\bNATO\b|Defense Production Act|armed forces|"
    r"National Defense Stockpile|weapons"
)

#: Columns of :attr:`Comparison.table`.
COMPARE_COLUMNS = [
    "actor",
    "instrument_type",
    "n_events",
    "first_date",
    "latest_date",
    *[p[0] for p in PERIODS],
    "defence_specific",
    "examples",
]


@dataclass
class Comparison:
    """The toolkit comparison.

    Attributes
    ----------
    table
        One row per actor and instrument type (:data:`COMPARE_COLUMNS`); types an actor
        never used have ``n_events`` 0 and empty dates.
    matrix
        Counts, actors x instrument types (the heat map).
    texts
        ``{(actor_a, actor_b): text}`` for every pair.
    """

    table: pd.DataFrame
    matrix: pd.DataFrame
    texts: dict[tuple[str, str], str] = field(default_factory=dict)

    def texts_frame(self) -> pd.DataFrame:
        """The pair texts as ``actor_a, actor_b, text`` rows."""
        return pd.DataFrame(
            [(a, b, t) for (a, b), t in self.texts.items()], columns=["actor_a", "actor_b", "text"]
        )


def _fmt_date(d: object) -> str:
    return "" if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")


def pair_texts(table: pd.DataFrame, actors: list[str]) -> dict[tuple[str, str], str]:
    """Generated text per actor pair, from the comparison table only.

    Each text states, for both actors, the number of events and instrument types used, the
    types one used and the other did not, stockpile and defence-specific counts, and the
    first year of export controls where either used them. Nothing else.
    """
    texts: dict[tuple[str, str], str] = {}
    t = table.set_index(["actor", "instrument_type"])
    for a, b in combinations(actors, 2):
        ta = t.loc[a] if a in t.index.get_level_values(0) else pd.DataFrame()
        tb = t.loc[b] if b in t.index.get_level_values(0) else pd.DataFrame()
        used_a = set(ta.index[ta["n_events"] > 0]) if len(ta) else set()
        used_b = set(tb.index[tb["n_events"] > 0]) if len(tb) else set()
        na, nb = (
            int(ta["n_events"].sum()) if len(ta) else 0,
            int(tb["n_events"].sum()) if len(tb) else 0,
        )
        s = [
            f"The record holds {na} events of {a} ({len(used_a)} instrument types) and {nb} of "
            f"{b} ({len(used_b)} types)."
        ]
        only_a, only_b = sorted(used_a - used_b), sorted(used_b - used_a)
        if only_a:
            s.append(f"{a}, not {b}, used: {', '.join(x.replace('_', ' ') for x in only_a)}.")
        if only_b:
            s.append(f"{b}, not {a}, used: {', '.join(x.replace('_', ' ') for x in only_b)}.")
        for kind in ("stockpile", "export_control"):
            ca = int(ta.loc[kind, "n_events"]) if kind in used_a else 0
            cb = int(tb.loc[kind, "n_events"]) if kind in used_b else 0
            if ca or cb:
                fa = f" (first {_fmt_date(ta.loc[kind, 'first_date'])[:4]})" if ca else ""
                fb = f" (first {_fmt_date(tb.loc[kind, 'first_date'])[:4]})" if cb else ""
                s.append(
                    f"{kind.replace('_', ' ').capitalize()} events: {a} {ca}{fa}, {b} {cb}{fb}."
                )
        da = int(ta["defence_specific"].sum()) if len(ta) else 0
        db = int(tb["defence_specific"].sum()) if len(tb) else 0
        s.append(f"Events naming defence: {a} {da}, {b} {db}.")
        texts[(a, b)] = " ".join(s)
    return texts


def compare(
    kb: KnowledgeBase,
    *,
    actors: Selection = None,
    examples: int = 3,
) -> Comparison:
    """Compare the policy toolkits of the actors (default EU, US, Japan, China, NATO).

    Parameters
    ----------
    kb
        Knowledge base.
    actors
        Acting actors to compare (default :data:`critmat.policy.events.ACTORS`).
    examples
        Examples per actor and type (latest first: ``date event_id: summary``).

    Returns
    -------
    Comparison
        Table, heat-map matrix and pair texts.

    Examples
    --------
    >>> import critmat
    >>> c = critmat.load(user_data=False).policy.compare()
    >>> int(c.matrix.loc["Japan", "stockpile"]) >= 3
    True
    """
    ev = kb.table("policy_events")
    allowed = sorted({x for v in ev["actors"].dropna() for x in str(v).split(";")})
    chosen = _vocab(split_list(actors) or list(ACTORS), allowed, "--actors")
    ev = ev[ev["actor"].isin(chosen)].copy()
    text = ev["summary"].fillna("") + " " + ev["actor_detail"].fillna("")
    ev["defence"] = text.str.contains(DEFENCE_PATTERN, case=False, regex=True)
    grid = pd.MultiIndex.from_product(
        [chosen, INSTRUMENT_TYPES], names=["actor", "instrument_type"]
    )
    g = ev.groupby(["actor", "instrument_type"])
    t = pd.DataFrame(index=grid)
    t["n_events"] = g.size().reindex(grid).fillna(0).astype("int64")
    t["first_date"] = g["date"].min().reindex(grid)
    t["latest_date"] = g["date"].max().reindex(grid)
    for label, y0, y1 in PERIODS:
        sub = ev[(ev["year"] >= y0) & (ev["year"] <= y1)]
        t[label] = (
            sub.groupby(["actor", "instrument_type"]).size().reindex(grid).fillna(0).astype("int64")
        )
    t["defence_specific"] = g["defence"].sum().reindex(grid).fillna(0).astype("int64")
    ex = (
        ev.sort_values("date", ascending=False)
        .groupby(["actor", "instrument_type"])
        .head(examples)
        .assign(
            ex=lambda f: (
                f["date"].map(_fmt_date)
                + " "
                + f["event_id"]
                + ": "
                + f["summary"].str.slice(0, 90)
            )
        )
        .groupby(["actor", "instrument_type"])["ex"]
        .agg(" | ".join)
    )
    t["examples"] = ex.reindex(grid).fillna("")
    t = t.reset_index()[COMPARE_COLUMNS]
    matrix = t.pivot(index="actor", columns="instrument_type", values="n_events").reindex(
        index=chosen, columns=list(INSTRUMENT_TYPES)
    )
    prov = kb.provenance("policy.compare", None, actors=actors)
    prov.sources = ["policy_record_2008_2025", "seed_002_timeline"]
    prov.notes = [
        "counts are events of the record by acting actor (policy_events.actor); the record "
        "is not exhaustive: a 0 means none recorded, not none taken",
        f"defence_specific: summary or acting body matches /{DEFENCE_PATTERN}/ (keyword rule)",
    ]
    table = attach(t, prov)
    return Comparison(table, matrix, pair_texts(t, chosen))
