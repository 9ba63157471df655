"""Preset scenarios built from the event record (``export_controls``), each citing its event.

The five China presets take their materials, dates, status and citation from the rows of
the ``export_controls`` table (MOFCOM/GAC announcements): month 0 is the announcement date
and the cut starts at the effective date. What the record cannot say (how much of the
flows to the EU is cut, for how long, how much leaks through third countries) is an
explicit, documented assumption of each preset, listed in ``Scenario.assumptions``:

* severity: uniform 0.5-1.0 of the exporter's flows to the EU (assumption; for scale,
  China's germanium metal exports fell by about half from 2023 to 2024 after the 2023
  controls, USGS MCS 2026 via ``defence_facts`` DF-08);
* duration: log-normal, median 18 months, sigma 0.6, capped at the horizon (assumption;
  the 2023 gallium and germanium controls were still in force 27 months later);
* leakage: uniform 0-0.2 (assumption: re-routing through third countries);
* ramp: 1 month to full effect (assumption: licences issued slowly at first);
* horizon 60 months; no stocks or other mitigations (add your own).

Two hypothetical presets have no event behind them and say so: a full China cut of every
material with EU sourcing shares, and a Russian cut of titanium metal, nickel and palladium
(shares from the EU 2023 study; palladium from global shares, the study has no EU sourcing
shares for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.scenarios.spec import EnsembleSpec, EventRef, Scenario, Shock

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["ASSUMPTIONS", "PRESET_EVENTS", "Preset", "all_presets", "preset", "preset_table"]

#: Preset name -> (title, event id) of the China instruments.
PRESET_EVENTS: dict[str, tuple[str, str]] = {
    "china-ga-ge-2023": ("China gallium and germanium export controls (Aug 2023)", "CN-2023-23"),
    "china-graphite-2023": ("China graphite export controls (Dec 2023)", "CN-2023-39"),
    "china-antimony-2024": ("China antimony export controls (Sep 2024)", "CN-2024-33"),
    "china-rare-earths-apr-2025": (
        "China medium and heavy rare-earth export controls (Apr 2025)",
        "CN-2025-18",
    ),
    "china-rare-earths-oct-2025": ("China rare-earth export controls (Oct 2025)", "CN-2025-OCT"),
}

_HORIZON = 60
_DAYS_PER_MONTH = 365.25 / 12

#: The parameters every preset assumes (no public source), in words.
ASSUMPTIONS = [
    "severity ~ uniform(0.5, 1.0) of the exporter's flows to the EU (assumption; China's "
    "germanium metal exports fell by about half 2023->2024 after the 2023 controls, "
    "defence_facts DF-08, for scale)",
    "duration ~ lognormal(median 18 months, sigma 0.6), capped at the horizon (assumption)",
    "leakage ~ uniform(0, 0.2) re-routed through third countries (assumption)",
    "ramp of 1 month to full effect (assumption)",
    "no stocks, partners, substitution or demand restraint unless added (user inputs)",
]


def _shock(
    exporter: str,
    materials: list[str],
    onset: float,
    *,
    severity: Any = None,
    name: str | None = None,
) -> Shock:
    return Shock.model_validate(
        {
            "name": name,
            "exporter": exporter,
            "material": materials,
            "onset": round(onset, 3),
            "duration": {
                "dist": "lognormal",
                "median": 18,
                "sigma": 0.6,
                "low": 1,
                "high": _HORIZON,
            },
            "severity": severity
            if severity is not None
            else {"dist": "uniform", "low": 0.5, "high": 1.0},
            "leakage": {"dist": "uniform", "low": 0.0, "high": 0.2},
            "ramp": 1.0,
        }
    )


@dataclass(frozen=True)
class Preset:
    """A named scenario with the event it is built from.

    Attributes
    ----------
    name
        Preset name (``china-ga-ge-2023``, ...).
    title
        One line.
    event_ids
        Ids of the ``export_controls`` rows (empty for hypothetical presets).
    citation
        Citation of the event (the table's ``citation``), or the basis of a hypothetical one.
    materials
        Materials cut.
    spec
        The ensemble specification (1000 samples, seed 0).
    """

    name: str
    title: str
    event_ids: tuple[str, ...]
    citation: str
    materials: tuple[str, ...]
    spec: EnsembleSpec

    @property
    def hypothetical(self) -> bool:
        """Whether no recorded event stands behind the preset."""
        return not self.event_ids


def _date(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(pd.Timestamp(value).date())


def all_presets(kb: KnowledgeBase) -> dict[str, Preset]:
    """All presets, built from the knowledge base.

    Returns
    -------
    dict
        Name -> :class:`Preset`, in a stable order.
    """
    ec = kb.table("export_controls")
    out: dict[str, Preset] = {}
    for name, (title, event) in PRESET_EVENTS.items():
        rows = ec[ec["event_id"] == event]
        mats = [str(m) for m in rows["material"].dropna().unique()]
        first = rows.iloc[0]
        announced = pd.Timestamp(first["date_announced"])
        effective = first["date_effective"]
        onset = (
            0.0
            if pd.isna(effective)
            else max(0.0, (pd.Timestamp(effective) - announced).days / _DAYS_PER_MONTH)
        )
        citation = str(first["citation"]) if pd.notna(first["citation"]) else ""
        others = [
            str(i) for i in rows["item"] if i not in set(rows.loc[rows["material"].notna(), "item"])
        ]
        desc = (
            f"{first['instrument']} ({first['issuer']}), announced "
            f"{_date(first['date_announced'])}, effective {_date(effective) or 'n/a'}; "
            f"scope: {first['scope']}. Status: {first['status']}."
        )
        if others:
            desc += f" Items without a raw material in the knowledge base: {'; '.join(others)}."
        sc = Scenario(
            name=name,
            description=f"{title}. {desc}",
            horizon_months=_HORIZON,
            shocks=[_shock("CHN", mats, onset, name=f"{event} CHN")],
            event=EventRef(
                event_ids=[event],
                citation=citation,
                date_announced=_date(first["date_announced"]),
                date_effective=_date(effective),
                status=str(first["status"]) if pd.notna(first["status"]) else None,
            ),
            assumptions=[
                f"month 0 = announcement {_date(first['date_announced'])}; onset = "
                f"effective date ({onset:.2f} months later, from the event record)",
                *ASSUMPTIONS,
            ],
        )
        out[name] = Preset(name, title, (event,), citation, tuple(mats), EnsembleSpec(scenario=sc))
    china_events = [e for _, e in PRESET_EVENTS.values()]
    sc = Scenario(
        name="china-full-cut",
        description="Hypothetical: China cuts every raw material it supplies, fully, from "
        "month 0: every material with any Chinese supply at any stage in the supply shares "
        "(newest vintage per material and stage); where the EU 2023 study gives no usable EU "
        "sourcing shares (dysprosium, terbium, platinum, palladium, ...) the global mix stands "
        "in, flagged (mix_status global_mix_fallback or eu_sourcing_inconsistent, see "
        "docs/scenarios.md). No such event is recorded; China's 2023-2025 instruments "
        f"({', '.join(china_events)}) are the context.",
        horizon_months=_HORIZON,
        shocks=[_shock("CHN", ["all"], 0.0, severity=1.0, name="CHN full cut")],
        event=EventRef(
            kind="hypothetical",
            event_ids=[],
            citation="hypothetical; supply shares: EU 2023 CRM study "
            "(doi:10.2873/725585) and USGS Mineral Commodity Summaries 2026 (newest per "
            "material and stage); context: " + ", ".join(china_events),
        ),
        assumptions=["severity 1 (a full cut; hypothetical)", *ASSUMPTIONS[1:]],
    )
    out["china-full-cut"] = Preset(
        "china-full-cut",
        "Full China cut of every material (hypothetical)",
        (),
        sc.event.citation if sc.event else "",
        ("all",),
        EnsembleSpec(scenario=sc),
    )
    ru = ["titanium_metal", "nickel", "palladium"]
    sc = Scenario(
        name="russia-ti-ni-pd",
        description="Hypothetical: Russia cuts titanium metal, nickel and palladium to the EU "
        "from month 0. No Russian export-control instrument is in the knowledge "
        "base; titanium metal and nickel use the EU 2023 study's EU sourcing "
        "shares, palladium its global supply shares (no EU sourcing shares).",
        horizon_months=_HORIZON,
        shocks=[_shock("RUS", ru, 0.0, severity=1.0, name="RUS cut")],
        event=EventRef(
            kind="hypothetical",
            event_ids=[],
            citation="hypothetical; supply shares: EU 2023 CRM study (doi:10.2873/725585)",
        ),
        assumptions=["severity 1 (a full cut; hypothetical)", *ASSUMPTIONS[1:]],
    )
    out["russia-ti-ni-pd"] = Preset(
        "russia-ti-ni-pd",
        "Russian cut of titanium, nickel and palladium (hypothetical)",
        (),
        sc.event.citation if sc.event else "",
        tuple(ru),
        EnsembleSpec(scenario=sc),
    )
    return out


def preset(kb: KnowledgeBase, name: str, *, where: str | None = "--preset") -> Preset:
    """One preset by name.

    Raises
    ------
    critmat.errors.UnknownNameError
        With the closest preset names.
    """
    all_ = all_presets(kb)
    if name in all_:
        return all_[name]
    from critmat.errors import UnknownNameError, closest

    raise UnknownNameError("preset", name, suggestions=closest(name, list(all_)), where=where)


def preset_table(kb: KnowledgeBase) -> pd.DataFrame:
    """Presets as a table: name, title, event, dates, materials, citation."""
    rows = []
    for p in all_presets(kb).values():
        ev = p.spec.scenario.event
        rows.append(
            {
                "preset": p.name,
                "title": p.title,
                "event_id": ", ".join(p.event_ids) or "hypothetical",
                "announced": ev.date_announced if ev else None,
                "effective": ev.date_effective if ev else None,
                "materials": ", ".join(p.materials),
                "citation": p.citation,
            }
        )
    return pd.DataFrame(rows)
