"""Supply-share vintages and supplier mixes with a documented fallback (pure, vectorised).

Two steps turn the ``supply_shares`` table (vintages ``eu_crm_2023``, ``usgs_mcs2026``,
``iea_gcmo_2025`` and user vintages) into the supplier mix a caller uses:

1. :func:`vintage_summary` and :func:`choose_vintages`: per material, stage and mix, the
   vintage asked for (``supply_vintage``): ``"newest"`` takes the latest reference year among
   the vintages whose basis matches the material (a mix flagged ``basis_differs`` only where
   no other vintage exists; ties go to the fuller mix), the rule of the dataset build's
   ``supply_vintages`` table; a named vintage takes that vintage only.
2. :func:`supplier_mix`: per material and stage, the preferred mix (EU sourcing) where it
   passed the supply-input checks, else a documented fallback with a status
   (:class:`critmat.vocab.SupplyMixStatus`):

   * ``ok``: the preferred mix as published;
   * ``eu_sourcing_inconsistent``: the EU-sourcing rows were flagged
     (``eu_sourcing_inconsistent``: non-EU shares contradict the EU import reliance IR, or
     ``eu_sourcing_copies_global``): the global mix stands in, split by import reliance::

         w_c = (1 - IR) * s_c / S_EU      for EU member states c   (S_EU = sum of their s)
         w_c = IR * s_c / (1 - S_EU)      for every other country c

     (EU sourcing is domestic production plus imports: IR of it is imported, the rest is
     produced in the EU). Where the global mix lists no EU producer, the ``1 - IR`` part has
     no country (``country`` empty: EU production not attributed). Without an IR the global
     mix is used as it is (``mix_used = global``); with IR = 0 (the EU is a net exporter,
     e.g. zinc, hafnium and tellurium at processing: a net IR says nothing about gross
     imports) or without a global mix the flagged EU-sourcing rows are kept
     (``mix_used = eu_sourcing``); all with this status;
   * ``global_mix_fallback``: no EU-sourcing rows at the stage: the global mix stands in.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame({"material": "germanium", "stage": "processing", "vintage": "v",
...     "reference_years": "2016-2020", "mix": ["eu_sourcing"] * 2 + ["global"] * 3,
...     "country": ["CHN", "BEL", "CHN", "RUS", "BEL"], "share": [0.83, 0.04, 0.8, 0.1, 0.1],
...     "check_flag": ["eu_sourcing_copies_global"] * 2 + [None] * 3})
>>> ir = pd.DataFrame({"material": ["germanium"], "stage": ["processing"],
...     "import_reliance": [0.4]})
>>> m = supplier_mix(s, ["germanium"], stages=("processing",), import_reliance=ir,
...     eu_countries=["BEL"])
>>> m.set_index("country")["share"].round(3).to_dict()
{'CHN': 0.356, 'RUS': 0.044, 'BEL': 0.6}
>>> sorted(set(m["mix_used"])), sorted(set(m["mix_status"]))
(['global_ir_split'], ['eu_sourcing_inconsistent'])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from critmat.vocab import SupplyMixStatus

__all__ = [
    "FALLBACK_FLAGS",
    "NEWEST",
    "choose_vintages",
    "supplier_mix",
    "vintage_summary",
]

#: The ``supply_vintage`` value that picks the newest vintage per material, stage and mix.
NEWEST = "newest"

#: Flags of an EU-sourcing mix that make exposure and scenarios use the fallback.
FALLBACK_FLAGS: tuple[str, ...] = ("eu_sourcing_inconsistent", "eu_sourcing_copies_global")

_KEYS = ["material", "stage", "mix"]

#: What :func:`supplier_mix` takes for a material and stage: nothing, the global rows, the
#: EU-sourcing rows, the global rows split by import reliance.
_SKIP, _GLOB, _EU, _SPLIT = 0, 1, 2, 3


def _group_flags(code: np.ndarray, flags: pd.Series, n_groups: int) -> np.ndarray:
    """Per group (``code``: group number of each row) its rows' distinct flags, sorted."""
    found: list[set[str]] = [set() for _ in range(n_groups)]
    values = flags.to_numpy(dtype=object)
    for i in np.flatnonzero(flags.notna().to_numpy(dtype=bool)).tolist():
        found[code[i]].update(f for f in str(values[i]).split(";") if f)
    return np.array([";".join(sorted(f)) or None for f in found], dtype=object)


def vintage_summary(shares: pd.DataFrame) -> pd.DataFrame:
    """One row per vintage, material, stage and mix, with the newest vintage marked.

    Parameters
    ----------
    shares
        Rows of ``supply_shares`` (``vintage, material, stage, mix, country, share,
        reference_years, reference_year``, optional ``check_flag``).

    Returns
    -------
    pandas.DataFrame
        ``vintage, material, stage, mix, reference_years, reference_year, share_total,
        countries, check_flags, newest``.
    """
    s = shares.assign(
        share=pd.to_numeric(shares["share"], errors="coerce").astype("float64"),
        check_flag=shares["check_flag"] if "check_flag" in shares.columns else None,
    )
    keys = ["vintage", *_KEYS]
    g = s.groupby(keys, sort=True, dropna=False)
    v = g.agg(
        reference_years=("reference_years", "first"),
        reference_year=("reference_year", "max"),
        share_total=("share", "sum"),
        countries=("country", "count"),
    ).reset_index()
    v["check_flags"] = _group_flags(g.ngroup().to_numpy(), s["check_flag"], len(v))
    differs = v["check_flags"].fillna("").str.contains("basis_differs")
    rank = v.assign(_ok=~differs).sort_values(
        [*_KEYS, "_ok", "reference_year", "share_total"],
        ascending=[True, True, True, False, False, False],
    )
    newest = rank.drop_duplicates(_KEYS, keep="first").index
    v["newest"] = v.index.isin(newest)
    return v


def choose_vintages(summary: pd.DataFrame, vintage: str = NEWEST) -> pd.DataFrame:
    """The (vintage, material, stage, mix) chosen by ``supply_vintage``.

    Parameters
    ----------
    summary
        :func:`vintage_summary` output.
    vintage
        ``"newest"`` or a vintage name (the caller checks that it exists).

    Returns
    -------
    pandas.DataFrame
        The chosen rows of ``summary``.
    """
    keep = summary["newest"] if vintage == NEWEST else summary["vintage"] == vintage
    return summary[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def _split_weights(
    share: np.ndarray, member: np.ndarray, ir: float
) -> tuple[np.ndarray, list[float]]:
    """One material and stage's global shares split by import reliance ``ir``.

    Returns the rows' weights and the parts that have no country (``1 - IR`` where the
    global mix lists no EU producer, ``IR`` where it lists no other producer).
    """
    s_eu = float(share[member].sum())
    s_out = float(share[~member].sum())
    w = np.where(member, (1 - ir) * share / s_eu if s_eu > 0 else 0.0, 0.0)
    w = np.where(~member, ir * share / s_out if s_out > 0 else 0.0, w)
    extra = [
        part for missing, part in ((s_eu <= 0, 1 - ir), (s_out <= 0, ir)) if missing and part > 0
    ]
    return w, extra


def supplier_mix(
    shares: pd.DataFrame,
    materials: Sequence[str],
    *,
    stages: Sequence[str] = ("extraction", "processing"),
    mix: str = "eu_sourcing",
    import_reliance: pd.DataFrame | None = None,
    eu_countries: Sequence[str] = (),
) -> pd.DataFrame:
    """Supplier shares per material and stage, with the fallback of the module docstring.

    Parameters
    ----------
    shares
        Rows of the chosen vintages (``vintage, reference_years, material, stage, mix,
        country, share, check_flag``).
    materials, stages
        What is wanted; materials and stages without any rows are absent from the result.
    mix
        Preferred mix: ``eu_sourcing`` (with the fallback) or ``global``.
    import_reliance
        ``material, stage, import_reliance`` (fractions) for the split of the fallback.
    eu_countries
        ISO-3 codes of the EU member states.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, country, share, mix_used (eu_sourcing, global, global_ir_split),
        mix_status, vintage, reference_years, check_flag, import_reliance, source_id``;
        ``country`` is
        empty for a residual ('Other countries') row or the unattributed EU production of
        a split.
    """
    if mix not in ("eu_sourcing", "global"):
        raise ValueError(f"mix must be eu_sourcing or global, got {mix!r}")
    columns = [
        "material",
        "stage",
        "country",
        "share",
        "mix_used",
        "mix_status",
        "vintage",
        "reference_years",
        "check_flag",
        "import_reliance",
        "source_id",
    ]
    s = shares[
        shares["material"].isin(list(materials)).to_numpy(dtype=bool, na_value=False)
        & shares["stage"].isin(list(stages)).to_numpy(dtype=bool, na_value=False)
    ].copy()
    s["share"] = pd.to_numeric(s["share"], errors="coerce").astype("float64")
    for c in ("check_flag", "source_id"):
        if c not in s.columns:
            s[c] = None
    ir_map: dict[tuple[str, str], float] = {}
    if import_reliance is not None:
        for m, st, v in zip(
            import_reliance["material"],
            import_reliance["stage"],
            pd.to_numeric(import_reliance["import_reliance"], errors="coerce"),
            strict=True,
        ):
            if pd.notna(v):
                ir_map[(str(m), str(st))] = float(v)
    # one decision per material and stage (the rules of the module docstring), then one
    # take of the chosen rows: no frame per group
    codes = s.groupby(["material", "stage"], sort=True).ngroup()
    code = codes.fillna(-1).to_numpy(dtype="int64")
    valid = code >= 0
    n_groups = int(code.max()) + 1 if valid.any() else 0
    mix_of = s["mix"].to_numpy(dtype=object)
    is_eu = (mix_of == "eu_sourcing") & valid
    is_glob = (mix_of == "global") & valid
    has_eu = np.bincount(code[is_eu], minlength=n_groups) > 0
    has_glob = np.bincount(code[is_glob], minlength=n_groups) > 0
    first = np.full(n_groups, -1, dtype="int64")  # first row of each group
    rows = np.flatnonzero(valid)
    first[code[rows[::-1]]] = rows[::-1]
    mats_of = s["material"].to_numpy(dtype=object)
    stages_of = s["stage"].to_numpy(dtype=object)
    raw_flags = s["check_flag"].to_numpy(dtype=object)
    flag_sets: dict[int, set[str]] = {}
    for i in np.flatnonzero(is_eu & s["check_flag"].notna().to_numpy(dtype=bool)):
        flag_sets.setdefault(int(code[i]), set()).update(str(raw_flags[i]).split(";"))
    choice = np.zeros(n_groups, dtype="int8")
    used = np.empty(n_groups, dtype=object)
    status = np.empty(n_groups, dtype=object)
    group_ir = np.full(n_groups, np.nan)
    inconsistent = SupplyMixStatus.EU_SOURCING_INCONSISTENT.value
    for gi in range(n_groups):
        ir = ir_map.get((str(mats_of[first[gi]]), str(stages_of[first[gi]])))
        flags = flag_sets.get(gi, set())
        if mix == "global" or (not has_eu[gi] and has_glob[gi]):
            if not has_glob[gi]:
                continue
            ok = mix == "global"
            choice[gi], used[gi] = _GLOB, "global"
            status[gi] = (SupplyMixStatus.OK if ok else SupplyMixStatus.GLOBAL_MIX_FALLBACK).value
        elif not has_eu[gi]:
            continue
        elif not flags & set(FALLBACK_FLAGS):
            choice[gi], used[gi], status[gi] = _EU, "eu_sourcing", SupplyMixStatus.OK.value
        elif not has_glob[gi] or (ir is not None and ir <= 0):
            # flagged, nothing to fall back on (no global mix), or IR = 0 (the EU is a net
            # exporter: a gross sourcing mix cannot be split by a net import reliance, and
            # the split would give every tonne to EU producers): the flagged rows, marked
            choice[gi], used[gi], status[gi] = _EU, "eu_sourcing", inconsistent
        elif ir is None:
            choice[gi], used[gi], status[gi] = _GLOB, "global", inconsistent
        else:
            choice[gi], used[gi], status[gi] = _SPLIT, "global_ir_split", inconsistent
        group_ir[gi] = ir if ir is not None else np.nan
    row_choice = np.where(valid, choice[np.where(valid, code, 0)], _SKIP)
    keep = ((row_choice == _GLOB) | (row_choice == _SPLIT)) & is_glob | (
        (row_choice == _EU) & is_eu
    )
    if not keep.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"share": "float64", "import_reliance": "float64"}
        )
    share = s["share"].to_numpy(dtype="float64").copy()
    member = s["country"].isin(set(eu_countries)).to_numpy(dtype=bool, na_value=False)
    split_flags: dict[int, str] = {}
    extra_code: list[int] = []
    extra_row: list[int] = []
    extra_share: list[float] = []
    for g in np.flatnonzero(choice == _SPLIT).tolist():
        idx = np.flatnonzero(is_glob & (code == g))  # the group's global rows, in order
        w, parts = _split_weights(share[idx], member[idx], float(group_ir[g]))
        share[idx] = w
        split_flags[g] = ";".join(sorted(flag_sets.get(g, set())))
        for part in parts:  # no producer on that side: the part has no country
            extra_code.append(g)
            extra_row.append(int(idx[0]))
            extra_share.append(part)
    kept = np.flatnonzero(keep)
    n_rows = len(kept) + len(extra_row)
    take = np.concatenate([kept, np.asarray(extra_row, dtype="int64")])
    out_code = np.concatenate([code[kept], np.asarray(extra_code, dtype="int64")])
    out_share = np.concatenate([share[kept], np.asarray(extra_share, dtype="float64")])
    is_extra = np.arange(n_rows) >= len(kept)
    # in the order of the groups; within a group the kept rows in their order, then the
    # parts without a country
    order = np.lexsort((np.arange(n_rows), is_extra, out_code))
    take, out_code, out_share, is_extra = (
        take[order],
        out_code[order],
        out_share[order],
        is_extra[order],
    )
    # the columns of the result at once (no frame of every column, no assignment each)

    def text(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[pd.isna(values)] = None
        return values

    def taken(column: str) -> np.ndarray:
        return text(s[column].to_numpy(dtype=object)[take])

    country = taken("country")
    country[is_extra] = None
    flag_col = raw_flags[take].copy()
    for gi, text_ in split_flags.items():
        flag_col[out_code == gi] = text_
    out = pd.DataFrame(
        {
            "material": pd.Series(taken("material"), dtype=object),
            "stage": pd.Series(taken("stage"), dtype=object),
            "country": pd.Series(country, dtype=object),
            "share": out_share,
        }
    )
    # assigned, so that pandas infers their dtype as before
    out["mix_used"] = used[out_code]
    out["mix_status"] = status[out_code]
    out["vintage"] = pd.Series(taken("vintage"), dtype=object)
    out["reference_years"] = pd.Series(taken("reference_years"), dtype=object)
    out["check_flag"] = pd.Series(text(flag_col), dtype=object)
    out["import_reliance"] = group_ir[out_code]
    out["source_id"] = s["source_id"].iloc[take].reset_index(drop=True)
    return out
