"""The cited defence dataset: uses, systems and the reference bill of materials.

``defence_uses`` links a material through an application and a component to a system class
and, where the source names one, a system; ``defence_systems`` lists the named systems with
the build rates that public sources give. :func:`reference_bom` and
:func:`reference_build_rates` turn the published quantities into the ``bom`` and
``build_rates`` layout, so every calculation runs on the cited data when the user has not
loaded their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmat.params import ParameterError, Selection, split_list
from critmat.provenance import attach
from critmat.units import KG_PER_UNIT, UNITS_PER_YEAR

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "REFERENCE_PROGRAMME",
    "producers",
    "reference_bom",
    "reference_build_rates",
    "systems",
    "uses",
]

#: Programme name of the reference build rates (the published US programme rates).
REFERENCE_PROGRAMME = "reference (published US programme rates)"

#: Columns of a BOM frame (the ``bom`` table).
BOM_COLUMNS = [
    "system",
    "component",
    "material",
    "kg_per_unit",
    "kind",
    "substitutable_share",
    "source",
    "note",
    "source_id",
]

#: Columns of a build-rate frame (the ``build_rates`` table).
RATE_COLUMNS = [
    "programme",
    "system",
    "units_per_year",
    "priority",
    "kind",
    "source",
    "note",
    "source_id",
]


def uses(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    systems: Selection = None,
    system_classes: Selection = None,
    include_members: bool = False,
) -> pd.DataFrame:
    """Cited defence uses of raw materials (the ``defence_uses`` table), filtered.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep (ids, names, symbols, aliases); ``None`` for all.
    systems, system_classes
        Systems or system classes to keep (exact names; see :func:`systems`).
    include_members
        For group materials (``rare_earths``, ``lree``, ...) also return the uses recorded
        for their member elements.

    Returns
    -------
    pandas.DataFrame
        The ``defence_uses`` rows with provenance.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> u = uses(kb, materials="gallium")
    >>> sorted(u["system_class"].unique())
    ['communications and electronics', 'guided missile', 'military aircraft', 'radar']
    """
    wanted = kb.select.materials(materials, expand_groups=include_members)
    frame = kb.table("defence_uses")
    keep = np.ones(len(frame), dtype=bool)
    if wanted is not None:
        keep &= frame["material"].isin(wanted).to_numpy()
    for col, sel in (("system", systems), ("system_class", system_classes)):
        items = split_list(sel)
        if items is None:
            continue
        known = set(frame[col].dropna())
        bad = [i for i in items if i not in known]
        if bad:
            from critmat.errors import closest

            raise ParameterError(
                f"unknown {col.replace('_', ' ')} {bad[0]!r} in {col}s=; known: "
                f"{', '.join(sorted(known))}"
                + (
                    f" (did you mean {closest(bad[0], sorted(known))[0]!r}?)"
                    if closest(bad[0], sorted(known))
                    else ""
                )
            )
        keep &= frame[col].isin(items).to_numpy()
    out = frame[keep].reset_index(drop=True)
    out.attrs = frame.attrs
    return out


def systems(kb: KnowledgeBase) -> pd.DataFrame:
    """Defence systems named by the sources, with published rates and what they use.

    Returns
    -------
    pandas.DataFrame
        ``defence_systems`` plus ``materials`` (materials the cited uses link to the system,
        ';'-separated), ``n_uses`` and ``quantified`` (a published or derived quantity
        exists for the system).
    """
    sy = kb.table("defence_systems")
    u = kb.table("defence_uses").dropna(subset=["system"])
    per = u.groupby("system").agg(
        materials=("material", lambda s: ";".join(sorted(set(s)))),
        n_uses=("use_id", "size"),
        quantified=("quantity", lambda s: bool(s.notna().any())),
    )
    out = sy.merge(per, left_on="system", right_index=True, how="left")
    out["n_uses"] = out["n_uses"].fillna(0).astype(int)
    out["quantified"] = out["quantified"].astype("boolean").fillna(False).astype(bool)
    out = out.reset_index(drop=True)
    prov = kb.provenance("defence.systems", pd.concat([sy[["source_id"]], u[["source_id"]]]))
    prov.units = {"units_per_year": UNITS_PER_YEAR}
    return attach(out, prov)


def reference_bom(kb: KnowledgeBase, *, default_intensity_kg: float | None = None) -> pd.DataFrame:
    """The bill of materials that the cited dataset supports, in the ``bom`` layout.

    Rows come from ``defence_uses`` quantities in kg per unit of a named system (today the
    CRS 2013 rare-earth totals per F-35, DDG-51 and SSN-774, converted from pounds: kind
    ``derived``). No source gives an intensity for the qualitative uses; with
    ``default_intensity_kg`` each (system, material) pair that a cited use names without a
    quantity gets that value, flagged ``assumption``.

    Parameters
    ----------
    kb
        Knowledge base.
    default_intensity_kg
        Placeholder kg per unit for named, unquantified uses (``None``: leave them out).

    Returns
    -------
    pandas.DataFrame
        ``system, component, material, kg_per_unit, kind, substitutable_share, source, note,
        source_id``.
    """
    u = kb.table("defence_uses")
    kg = u[(u["unit"] == "kg per unit") & u["system"].notna()]
    bom = pd.DataFrame(
        {
            "system": kg["system"],
            "component": kg["component"].fillna("all components"),
            "material": kg["material"],
            "kg_per_unit": kg["quantity"].astype("float64"),
            "kind": kg["kind"],
            "substitutable_share": 0.0,
            "source": kg["use_id"] + ": " + kg["citation"],
            "note": kg["derivation"],
            "source_id": kg["source_id"],
        }
    )
    if default_intensity_kg is not None:
        if not np.isfinite(default_intensity_kg) or default_intensity_kg < 0:
            raise ParameterError(
                f"default_intensity_kg must be a number >= 0, got {default_intensity_kg!r}"
            )
        named = u[u["system"].notna()].drop_duplicates(["system", "material"])
        have = set(zip(bom["system"], bom["material"], strict=True))
        extra = named[
            [(s, m) not in have for s, m in zip(named["system"], named["material"], strict=True)]
        ]
        bom = pd.concat(
            [
                bom,
                pd.DataFrame(
                    {
                        "system": extra["system"],
                        "component": "all components",
                        "material": extra["material"],
                        "kg_per_unit": float(default_intensity_kg),
                        "kind": "assumption",
                        "substitutable_share": 0.0,
                        "source": extra["use_id"] + " (use cited; no quantity published)",
                        "note": f"placeholder intensity {default_intensity_kg:g} kg per unit "
                        "(default_intensity_kg), not a source figure",
                        "source_id": extra["source_id"],
                    }
                ),
            ],
            ignore_index=True,
        )
    bom = bom[BOM_COLUMNS].reset_index(drop=True)
    prov = kb.provenance("defence.reference_bom", bom, default_intensity_kg=default_intensity_kg)
    prov.units = {"kg_per_unit": KG_PER_UNIT}
    return attach(bom, prov)


def reference_build_rates(
    kb: KnowledgeBase, *, default_build_rate: float | None = None
) -> pd.DataFrame:
    """The build rates that public sources give (``defence_systems``), ``build_rates`` layout.

    Parameters
    ----------
    kb
        Knowledge base.
    default_build_rate
        Placeholder units per year for named systems without a published rate, flagged
        ``assumption`` (``None``: leave them out).

    Returns
    -------
    pandas.DataFrame
        ``programme, system, units_per_year, priority, kind, source, note, source_id``.
    """
    sy = kb.table("defence_systems")
    rated = sy[sy["units_per_year"].notna()]
    rates = pd.DataFrame(
        {
            "programme": REFERENCE_PROGRAMME,
            "system": rated["system"],
            "units_per_year": rated["units_per_year"].astype("float64"),
            "priority": 1.0,
            "kind": rated["rate_kind"].fillna("published"),
            "source": rated["rate_citation"],
            "note": rated["rate_basis"],
            "source_id": rated["rate_source_id"],
        }
    )
    if default_build_rate is not None:
        if not np.isfinite(default_build_rate) or default_build_rate < 0:
            raise ParameterError(
                f"default_build_rate must be a number >= 0, got {default_build_rate!r}"
            )
        rest = sy[sy["units_per_year"].isna()]
        rates = pd.concat(
            [
                rates,
                pd.DataFrame(
                    {
                        "programme": REFERENCE_PROGRAMME,
                        "system": rest["system"],
                        "units_per_year": float(default_build_rate),
                        "priority": 1.0,
                        "kind": "assumption",
                        "source": "no published rate",
                        "note": f"placeholder rate {default_build_rate:g} units per year "
                        "(default_build_rate), not a source figure",
                        "source_id": "critmat_curation",
                    }
                ),
            ],
            ignore_index=True,
        )
    rates = rates[RATE_COLUMNS].reset_index(drop=True)
    prov = kb.provenance(
        "defence.reference_build_rates", rates, default_build_rate=default_build_rate
    )
    prov.units = {"units_per_year": UNITS_PER_YEAR}
    return attach(rates, prov)


def producers(kb: KnowledgeBase, system_names: pd.Series) -> pd.DataFrame:
    """Producer country of each system and the supply mix that describes its supply chain.

    A system is matched to ``defence_systems`` by name, or by the longest known name its
    name starts with (``"F-35 Lightning II (European customers)"`` -> ``F-35 Lightning II``).
    The EU 2023 EU sourcing shares describe supply to EU industry: they apply to a system
    whose lead producer is an EU27 member (or the EU); a system built elsewhere (the F-35
    and the other US programmes: USA; Meteor and Storm Shadow: GBR) gets the **global**
    supply shares, flagged, because no sourcing shares of its producer country are held. A
    system not in ``defence_systems`` (your own) is assumed EU-built, flagged as an
    assumption.

    Parameters
    ----------
    kb
        Knowledge base.
    system_names
        System names (e.g. the ``system`` column of a demand frame).

    Returns
    -------
    pandas.DataFrame
        ``system, known_system, producer_country, producer_in_eu, mix_wanted, mix_note``
        (one row per distinct name).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> p = producers(kb, pd.Series(["Rafale", "F-35 Lightning II (European customers)"]))
    >>> p[["producer_country", "mix_wanted"]].to_dict("records")
    [{'producer_country': 'FRA', 'mix_wanted': 'eu_sourcing'}, {'producer_country': 'USA', \
'mix_wanted': 'global'}]
    """
    known = kb.table("defence_systems")[["system", "country", "producer_countries"]]
    names = pd.Series(pd.unique(system_names.astype(object).dropna()), dtype=object)
    ks = sorted(known["system"].astype(object), key=len, reverse=True)
    match = names.map(lambda n: next((k for k in ks if n == k or str(n).startswith(k)), None))
    lead = known.set_index("system")["country"].astype(object)
    prod = known.set_index("system")["producer_countries"].astype(object)
    country = match.map(lead)
    country = country.where(country.notna(), match.map(prod))
    eu27 = set(kb.select.countries("EU27") or [])
    unknown = match.isna().to_numpy()
    known_eu = np.array(
        [(not pd.isna(c)) and (c in eu27 or c == "EU") for c in country], dtype=bool
    )  # dtype: an empty demand (no systems) stays a boolean array
    no_country = country.isna().to_numpy()
    # unknown system, or known without a country: EU-built assumed (flagged in mix_note)
    in_eu_b = pd.Series(known_eu | unknown | no_country, index=country.index, dtype=bool)
    note = np.where(
        unknown,
        "producer unknown (system not in defence_systems): EU-built assumed, EU sourcing shares",
        np.where(
            in_eu_b.to_numpy(),
            "EU producer: EU sourcing shares",
            "producer "
            + country.fillna("?").astype(str).to_numpy()
            + " is outside the EU: global supply shares (no sourcing shares of the producer "
            "country are held; EU sourcing shares are not applied)",
        ),
    )
    return pd.DataFrame(
        {
            "system": names.to_numpy(),
            "known_system": match.to_numpy(),
            "producer_country": country.to_numpy(),
            "producer_in_eu": in_eu_b.to_numpy(dtype=bool),
            "mix_wanted": np.where(in_eu_b.to_numpy(), "eu_sourcing", "global"),
            "mix_note": note,
        }
    )
