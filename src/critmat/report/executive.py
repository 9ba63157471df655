"""The one-page executive summary of the assessment report, its data file and "what changed".

:func:`report_data` condenses an assessment into the machine-readable summary that is
written next to every report as ``FILE.json`` (:data:`DATA_FORMAT`): the assessed materials
with their indicators, the defence systems most at risk, and the recommended actions with
their cost when the decisions layer computed them. :func:`executive_section` draws the
first page from it: the most exposed materials, the most exposed systems, the recommended
actions and, given the data file of an earlier report (:func:`read_previous`), what changed
since (:func:`changes`).

Rankings (stated on the page):

* materials: by the EU supply risk (SR) computed by critmat, then China's share at the
  bottleneck stage;
* systems: by the share of their planned production that cannot be built during a full,
  12-month cut of China's deliveries without stock
  (:func:`critmat.defence.capability.capability_at_risk`), an illustrative stress, not a
  forecast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.errors import CritmatError, ParameterError
from critmat.report.builder import Column, Section, Table, Text
from critmat.report.format import format_value

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "DATA_FORMAT",
    "actions_from_section",
    "changes",
    "executive_section",
    "read_previous",
    "report_data",
]

#: ``format`` field of a report data file.
DATA_FORMAT = "critmat-report-data/1"

#: The stress test behind "most exposed systems": supplier, share of its deliveries cut, months.
STRESS: dict[str, Any] = {"exporters": "CHN", "cut": 1.0, "months": 12}

_TOP_MATERIALS = 6
_TOP_SYSTEMS = 5

_MATERIAL_FIELDS = (
    "name",
    "critical",
    "sr",
    "ei",
    "china_extraction",
    "china_processing",
    "import_reliance",
    "geopolrisk",
    "hhi",
)

#: Changes smaller than these are not reported (per field).
_THRESHOLDS = {
    "sr": 0.05,
    "ei": 0.05,
    "china_extraction": 0.01,
    "china_processing": 0.01,
    "import_reliance": 0.01,
    "geopolrisk": 0.0005,
    "hhi": 0.01,
    "share_lost": 0.01,
}

_LABELS = {
    "critical": "critical (EU thresholds)",
    "sr": "supply risk (SR)",
    "ei": "economic importance (EI)",
    "china_extraction": "China share, extraction",
    "china_processing": "China share, processing",
    "import_reliance": "EU import reliance",
    "geopolrisk": "GeoPolRisk score",
    "hhi": "HHI",
    "share_lost": "production lost in the stress",
}

_STYLE = {
    "sr": "decimal2",
    "ei": "decimal2",
    "china_extraction": "percent",
    "china_processing": "percent",
    "import_reliance": "percent",
    "geopolrisk": "share",
    "hhi": "share",
    "share_lost": "percent",
    "cost_eur": "eur",
}


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _flag(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return bool(value)


def _materials(a: Assessment) -> list[dict[str, Any]]:
    t = a.table
    whatif: dict[str, float] = {}
    if a.whatif is not None and not a.whatif.table.empty:
        w = a.whatif.table.groupby("material")["expected shortfall (months)"].max()
        whatif = {str(k): float(v) for k, v in w.items() if _num(v) is not None}
    importance: dict[str, float] = {}
    if a.defence is not None:
        importance = {
            str(m): float(v)
            for m, v in zip(a.defence["material"], a.defence["defence_importance"], strict=True)
            if _num(v) is not None
        }
    out = []
    for rec in t.to_dict("records"):
        m = str(rec["material"])
        row: dict[str, Any] = {"material": m}
        for f in _MATERIAL_FIELDS:
            v = rec.get(f)
            row[f] = str(v) if f == "name" else _flag(v) if f == "critical" else _num(v)
        row["name"] = row["name"] if row["name"] not in (None, "None", "nan") else m
        china = [x for x in (row["china_extraction"], row["china_processing"]) if x is not None]
        row["china_max"] = max(china) if china else None
        row["defence_importance"] = importance.get(m)
        row["whatif_shortfall_months"] = whatif.get(m)
        out.append(row)
    return out


def _systems(kb: KnowledgeBase, a: Assessment) -> tuple[list[dict[str, Any]], str, list[str]]:
    """Systems ranked by production lost in the stress test, a status line, the sources."""
    try:
        from critmat.report.defence import capability_of

        cap = capability_of(
            kb,
            a,
            exporters=STRESS["exporters"],
            cut=float(STRESS["cut"]),
            months=int(STRESS["months"]),
        )
    except CritmatError as exc:  # the summary says why instead of failing the whole report
        return [], f"capability at risk not computed: {exc}", []
    if cap.empty:
        return [], "no defence system has a bill of materials to assess", []
    names = dict(zip(a.table["material"], a.table["name"], strict=True))
    cap = cap.sort_values(["share_lost_fixed", "planned_units"], ascending=False)
    out = []
    for r in cap.to_dict("records"):
        lim = str(r.get("limiting_material_fixed") or "")
        out.append(
            {
                "system": str(r["system"]),
                "programme": str(r["programme"]),
                "planned_units": _num(r["planned_units"]),
                "not_built": _num(r["not_built_fixed"]),
                "share_lost": _num(r["share_lost_fixed"]),
                "limiting_material": names.get(lim, lim.replace("_", " ")),
                "rests_on_assumption": bool(r.get("rests_on_assumption", False)),
            }
        )
    return out, "", [str(x) for x in cap.attrs.get("critmat", {}).get("sources", [])]


def report_data(
    kb: KnowledgeBase,
    a: Assessment,
    *,
    actions: pd.DataFrame | None = None,
    actions_note: str = "",
) -> dict[str, Any]:
    """The machine-readable summary of an assessment report (the ``FILE.json`` sidecar).

    Parameters
    ----------
    kb
        Knowledge base.
    a
        The assessment.
    actions
        Recommended actions (``action, material, cost_eur, effect`` and optional ``rank``,
        ``basis``) from the decisions layer, or ``None`` when none were computed.
    actions_note
        Why there are no actions, or what they rest on.

    Returns
    -------
    dict
        JSON-serialisable; ``format`` is :data:`DATA_FORMAT`.
    """
    systems, systems_note, systems_sources = _systems(kb, a)
    acts: list[dict[str, Any]] = []
    if actions is not None:
        for rec in actions.to_dict("records"):
            acts.append(
                {
                    k: (_num(v) if k in ("cost_eur", "rank") else (None if v is None else str(v)))
                    for k, v in rec.items()
                }
            )
    return {
        "format": DATA_FORMAT,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "critmat": __version__,
        "dataset": kb.version,
        "dataset_hash": kb.catalog.content_hash,
        "importer": a.importer,
        "year": int(a.year),
        "materials": _materials(a),
        "systems": systems,
        "systems_note": systems_note,
        "systems_sources": systems_sources,
        "stress": dict(STRESS),
        "actions": acts,
        "actions_note": actions_note,
    }


def actions_from_section(
    section: Section | None, names: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame | None, str]:
    """The recommended actions of the decisions layer's "What to do" section, and a note.

    The section (:func:`critmat.report.decisions.what_to_do_section`) holds the optimal
    stockpile as a table (``material, stock_t, purchase_cost_eur, ...``); its rows become
    actions ``rank, action, material, cost_eur, effect`` in purchase order, so the summary
    reuses the computed result instead of solving again.

    Parameters
    ----------
    section
        The section, or ``None`` when the report has none.
    names
        ``{material id: name}`` for the action text.
    """
    if section is None:
        return None, (
            "none in this report: the decisions layer (critmat.optimize) adds its "
            "'What to do' section to the assessment once it is part of this build"
        )
    names = names or {}
    stock = None
    for block in section.blocks:
        if isinstance(block, Table) and {"material", "stock_t"} <= set(block.frame.columns):
            stock = block.frame
            break
    if stock is None:
        said = " ".join(b.text for b in section.blocks if isinstance(b, Text))
        return None, f"none computed ({said or 'the decisions section holds no stockpile'})"
    d = stock[pd.to_numeric(stock["stock_t"], errors="coerce").fillna(0.0) > 0].copy()
    if "rank" in d.columns:
        d = d.sort_values("rank", na_position="last")
    rows = []
    for i, r in enumerate(d.to_dict("records"), start=1):
        m = str(r["material"])
        months = _num(r.get("months_of_demand"))
        before = _num(r.get("expected_shortfall_t_before"))
        after = _num(r.get("expected_shortfall_t_after"))
        effect = (
            f"expected shortfall {format_value(before, 'tonnes')} t -> "
            f"{format_value(after, 'tonnes')} t"
            if before is not None and after is not None
            else ""
        )
        rows.append(
            {
                "rank": float(i),
                "action": f"stockpile {format_value(float(r['stock_t']), 'tonnes')} t"
                + (f" ({months:.1f} months of EU demand)" if months is not None else ""),
                "material": names.get(m, m),
                "cost_eur": _num(r.get("purchase_cost_eur")),
                "effect": effect,
            }
        )
    if not rows:
        return None, "the optimal stockpile buys nothing for these materials"
    note = (
        "from the 'What to do' section (critmat.optimize, optimal stockpile over a cut of "
        "China's supply; its assumptions are listed there); cost = purchase in EUR"
    )
    return pd.DataFrame(rows), note


def read_previous(path: str | Path) -> dict[str, Any]:
    """Read the data file of an earlier report (``FILE.json``; a report path finds its file).

    Raises
    ------
    critmat.errors.ParameterError
        Missing file, not JSON, or not a critmat report data file (says what was expected).
    """
    p = Path(path)
    if p.suffix.lower() in (".html", ".htm", ".pdf"):
        p = p.with_suffix(".json")
    if not p.is_file():
        raise ParameterError(
            f"--previous {path}: no report data file at {p}; give the FILE.json written next "
            "to an earlier `critmat assess --report FILE.html|FILE.pdf`"
        )
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"--previous {p}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ParameterError(
            f"--previous {p}: not a critmat report data file (format {found!r}, expected "
            f"{DATA_FORMAT!r}); give the FILE.json written next to an earlier report"
        )
    if not isinstance(data.get("materials"), list):
        raise ParameterError(f"--previous {p}: the file has no 'materials' list")
    return data


def _fmt(field: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_value(float(value), _STYLE.get(field, "auto"))
    return str(value)


def changes(previous: Mapping[str, Any], current: Mapping[str, Any]) -> pd.DataFrame:
    """What changed between two report data files.

    Returns
    -------
    pandas.DataFrame
        ``item, change, before, after`` (text, one row per change), ordered: dataset,
        materials added or removed, criticality flips, indicator moves, systems, actions.
        Indicator moves below a threshold (e.g. 0.05 SR, one percentage point of a share)
        are left out.
    """
    rows: list[dict[str, str]] = []
    for key, what in (("dataset", "dataset version"), ("importer", "importer")):
        if previous.get(key) != current.get(key):
            rows.append(
                {
                    "item": "report",
                    "change": what,
                    "before": str(previous.get(key)),
                    "after": str(current.get(key)),
                }
            )
    before = {str(m.get("material")): m for m in previous.get("materials", [])}
    after = {str(m.get("material")): m for m in current.get("materials", [])}
    for m in sorted(set(after) - set(before)):
        rows.append(
            {
                "item": after[m].get("name") or m,
                "change": "newly assessed",
                "before": "–",
                "after": "assessed",
            }
        )
    for m in sorted(set(before) - set(after)):
        rows.append(
            {
                "item": before[m].get("name") or m,
                "change": "no longer assessed",
                "before": "assessed",
                "after": "–",
            }
        )
    moves: list[tuple[int, float, dict[str, str]]] = []
    for m in sorted(set(before) & set(after)):
        b, c = before[m], after[m]
        name = str(c.get("name") or m)
        if _flag(b.get("critical")) != _flag(c.get("critical")):
            moves.append(
                (
                    0,
                    0.0,
                    {
                        "item": name,
                        "change": _LABELS["critical"],
                        "before": _fmt("critical", b.get("critical")),
                        "after": _fmt("critical", c.get("critical")),
                    },
                )
            )
        for f in _MATERIAL_FIELDS:
            if f in ("name", "critical"):
                continue
            x, y = _num(b.get(f)), _num(c.get(f))
            if x is None and y is None:
                continue
            if x is None or y is None or abs(y - x) >= _THRESHOLDS[f]:
                size = abs((y or 0.0) - (x or 0.0))
                moves.append(
                    (
                        1,
                        -size,
                        {
                            "item": name,
                            "change": _LABELS[f],
                            "before": _fmt(f, x),
                            "after": _fmt(f, y),
                        },
                    )
                )
    rows.extend(r for _, _, r in sorted(moves, key=lambda t: (t[0], t[1])))
    sb = {str(s.get("system")): s for s in previous.get("systems", [])}
    for s in current.get("systems", []):
        old = sb.get(str(s.get("system")))
        x = None if old is None else _num(old.get("share_lost"))
        y = _num(s.get("share_lost"))
        if old is None or x is None or y is None or abs(y - x) >= _THRESHOLDS["share_lost"]:
            rows.append(
                {
                    "item": str(s.get("system")),
                    "change": _LABELS["share_lost"],
                    "before": _fmt("share_lost", x),
                    "after": _fmt("share_lost", y),
                }
            )
    ab = {(a.get("action"), a.get("material")): a for a in previous.get("actions", [])}
    for act in current.get("actions", []):
        old = ab.pop((act.get("action"), act.get("material")), None)
        x = None if old is None else _num(old.get("cost_eur"))
        y = _num(act.get("cost_eur"))
        if old is None or x != y:
            rows.append(
                {
                    "item": f"{act.get('action')} ({act.get('material')})",
                    "change": "new recommended action" if old is None else "cost of the action",
                    "before": _fmt("cost_eur", x),
                    "after": _fmt("cost_eur", y),
                }
            )
    for (action, material), _old in ab.items():
        rows.append(
            {
                "item": f"{action} ({material})",
                "change": "action no longer recommended",
                "before": "recommended",
                "after": "–",
            }
        )
    return pd.DataFrame(rows, columns=["item", "change", "before", "after"])


def _top_materials(data: Mapping[str, Any], n: int = _TOP_MATERIALS) -> pd.DataFrame:
    mats = pd.DataFrame(data["materials"])
    if mats.empty:
        return mats
    mats = mats.sort_values(
        ["sr", "china_max"], ascending=False, na_position="last", ignore_index=True
    ).head(n)
    return pd.DataFrame(
        {
            "material": mats["name"],
            "critical": mats["critical"].map({True: "yes", False: "no"}).fillna("–"),
            "sr": mats["sr"],
            "china_max": mats["china_max"],
            "import_reliance": mats["import_reliance"],
            "defence_importance": mats["defence_importance"],
            "whatif_shortfall_months": mats["whatif_shortfall_months"],
        }
    )


def _systems_frame(data: Mapping[str, Any], n: int = _TOP_SYSTEMS) -> pd.DataFrame:
    s = pd.DataFrame(data["systems"]).head(n)
    if s.empty:
        return s
    return s[["system", "planned_units", "not_built", "share_lost", "limiting_material"]]


def executive_section(
    data: Mapping[str, Any],
    *,
    previous: Mapping[str, Any] | None = None,
    sources: Sequence[str] = (),
) -> Section:
    """The executive summary: one page opening the report.

    Parameters
    ----------
    data
        :func:`report_data` of this report.
    previous
        :func:`read_previous` of an earlier report: adds "What changed since".
    sources
        Source ids the summary rests on.
    """
    mats = data["materials"]
    n_crit = sum(1 for m in mats if m.get("critical") is True)
    n_china = sum(1 for m in mats if (_num(m.get("china_processing")) or 0.0) >= 0.65)
    blocks: list[Any] = [
        Text(
            f"{len(mats)} raw materials assessed for importer {data['importer']}: {n_crit} "
            "are critical by the EU thresholds as computed by critmat, and China holds 65 % "
            f"or more of global processing for {n_china} of them (the CRMA single-country "
            "benchmark)."
        )
    ]
    top = _top_materials(data)
    if not top.empty:
        blocks.append(
            Table(
                top,
                {
                    "material": Column("Material"),
                    "critical": Column("Critical"),
                    "sr": Column("Supply risk (SR)", "decimal2", "EU method, critmat computation"),
                    "china_max": Column(
                        "China share (bottleneck)", "percent", "larger of extraction, processing"
                    ),
                    "import_reliance": Column("EU import reliance", "percent"),
                    "defence_importance": Column(
                        "Defence importance (0-10)", "decimal1", "critmat indicator"
                    ),
                    "whatif_shortfall_months": Column(
                        "Worst what-if shortfall (months)",
                        "decimal2",
                        "largest expected shortfall over the presets, months of EU demand",
                    ),
                },
                title="Most exposed materials",
                caption="ranked by EU supply risk, then China's share; – = not available "
                "(see the sections below for why)",
                first_left=2,
                missing="–",
            )
        )
    systems = _systems_frame(data)
    stress = data.get("stress", STRESS)
    if not systems.empty:
        blocks.append(
            Table(
                systems,
                {
                    "system": Column("System"),
                    "planned_units": Column("Planned units", "decimal1"),
                    "not_built": Column("Not built", "decimal1"),
                    "share_lost": Column("Share lost", "percent"),
                    "limiting_material": Column("Limiting material"),
                },
                title="Most exposed defence systems",
                caption=f"stress test (assumption): {int(float(stress['cut']) * 100)} % of "
                f"{stress['exporters']}'s deliveries cut for {stress['months']} months, no "
                "stock, planned production at the published rates; ranked by the share lost",
                first_left=1,
                missing="–",
            )
        )
    else:
        blocks.append(Text(f"Most exposed defence systems: {data.get('systems_note')}.", meta=True))
    actions = pd.DataFrame(data.get("actions", []))
    if not actions.empty:
        cols = {
            "rank": Column("#", "auto"),
            "action": Column("Action"),
            "material": Column("Material"),
            "cost_eur": Column("Cost (EUR)", "eur"),
            "effect": Column("Effect"),
        }
        blocks.append(
            Table(
                actions,
                {k: v for k, v in cols.items() if k in actions.columns},
                title="Recommended actions",
                caption=str(data.get("actions_note") or ""),
                first_left=3 if "rank" in actions.columns else 2,
                missing="–",
            )
        )
    else:
        blocks.append(Text(f"Recommended actions: {data.get('actions_note') or 'none computed'}."))
    if previous is not None:
        diff = changes(previous, data)
        when = str(previous.get("generated", "an earlier report"))
        if diff.empty:
            blocks.append(
                Text(f"What changed since {when}: nothing above the reporting thresholds.")
            )
        else:
            shown = diff.head(10)
            blocks.append(
                Table(
                    shown,
                    {c: Column(c) for c in shown.columns},
                    title=f"What changed since the report of {when}",
                    caption=f"{len(diff)} changes"
                    + (", first 10 shown" if len(diff) > 10 else "")
                    + "; moves below 0.05 SR or one percentage point of a share are not listed",
                    first_left=4,
                )
            )
    return Section("Executive summary", blocks, sources=list(sources), key="executive")
