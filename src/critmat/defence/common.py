"""Shared vocabulary of the defence layer: kinds of numbers, proxies, substitutability scores.

Every number the defence layer uses has a *kind*:

* ``published``: as in a cited source (CRS 2013 pounds per platform, a CRS procurement rate);
* ``derived``: computed by critmat from published numbers (920 lb -> 417.3 kg);
* ``user``: the user's own data (an imported BOM or build rate);
* ``assumption``: a default or placeholder that no source gives (flagged in every result).

A result combining several numbers takes the least certain kind (:func:`worst_kind`), and
``rests_on_assumption`` is true as soon as one input is an assumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from critmat.vocab import Kind

__all__ = [
    "COMPONENT_WEIGHTS",
    "DEFAULT_ADVERSARIES",
    "KINDS",
    "KIND_RANK",
    "SHARE_PROXIES",
    "SUBSTITUTABILITY_SCORES",
    "kind_of_rank",
    "proxy_map",
    "worst_kind",
]

#: Kinds of numbers, from most to least certain (:class:`critmat.vocab.Kind`).
KINDS: tuple[str, ...] = tuple(k.value for k in Kind)

#: Rank of each kind (higher = less certain).
KIND_RANK: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

#: Supplier countries counted as adversaries by default (a user choice, not a source fact:
#: NATO's 2022 Strategic Concept names Russia the most significant threat and China a
#: systemic challenge). Override with ``adversaries=``.
DEFAULT_ADVERSARIES = "CHN,RUS"

#: Materials without EU 2023 supply shares or supply risk borrow them from a proxy
#: (critmat assumption, shown in a ``proxy`` column): the CRS per-platform figures are all
#: rare earths together; permanent magnets dominate defence rare-earth use (CRS 2013, DoD
#: 2012) and neodymium is the main magnet rare earth.
SHARE_PROXIES: dict[str, str] = {"rare_earths": "neodymium"}

#: Substitutability of a defence use as a score in (0, 1] that multiplies defence
#: importance (1 = no substitute). After the EU 2017 substitute cost-performance scale
#: (1.0 no substitute ... 0.7 similar cost and performance; METHODS.md §1.2): critmat's
#: mapping of what the defence sources say. ``unknown`` uses the EU SI_EI of the material
#: where the EU 2023 study gives one, else 1.0 (conservative).
SUBSTITUTABILITY_SCORES: dict[str, float] = {"none": 1.0, "limited": 0.9, "possible": 0.7}

#: Weight of a use by the criticality of the component it serves (``defence_uses.
#: component_criticality``): ``essential`` = the component carries the system's primary
#: function (propulsion, guidance, main sensor, protection, primary structure, the weapon's
#: effect), ``important`` = a sub-function or performance, ``minor`` = auxiliary and
#: replaceable, ``unknown`` = platform totals and shares where the source names no
#: component. critmat's scale (an assumption, shown in every result; override with
#: ``weights=``): a minor component weighs a fifth of an essential one, an important one 0.6,
#: an unknown one the middle of the scale.
COMPONENT_WEIGHTS: dict[str, float] = {
    "essential": 1.0,
    "important": 0.6,
    "minor": 0.2,
    "unknown": 0.5,
}


def worst_kind(*kinds: pd.Series) -> pd.Series:
    """Element-wise least certain kind of several kind columns (missing kinds are ignored).

    Examples
    --------
    >>> import pandas as pd
    >>> worst_kind(pd.Series(["published", "derived"]), pd.Series(["user", None])).tolist()
    ['user', 'derived']
    """
    ranks = np.column_stack([k.map(KIND_RANK).astype("float64").to_numpy() for k in kinds])
    best = np.nanmax(np.where(np.isnan(ranks), -1.0, ranks), axis=1)
    labels = np.array(KINDS, dtype=object)
    out = np.where(best >= 0, labels[np.clip(best, 0, None).astype(int)], None)
    return pd.Series(out, index=kinds[0].index, dtype=object)


def kind_of_rank(rank: pd.Series) -> pd.Series:
    """Kind labels of numeric ranks (NaN -> None); the inverse of :data:`KIND_RANK`."""
    r = rank.astype("float64").to_numpy()
    labels = np.array(KINDS, dtype=object)
    out = np.where(np.isnan(r), None, labels[np.nan_to_num(r, nan=0).astype(int)])
    return pd.Series(out, index=rank.index, dtype=object)


def proxy_map(materials: pd.Series, proxies: Mapping[str, str] | None) -> pd.Series:
    """The material whose supply data stand in for each material (itself when no proxy)."""
    table = _proxy_table(proxies)
    m = materials.astype(object)
    return m.map(table).where(m.isin(list(table)), m).astype(object)


def _proxy_table(proxies: Any) -> dict[str, str]:
    """A proxy mapping from a mapping or ``MATERIAL=PROXY`` items.

    ``None`` and empty items (an empty query value) give the defaults; a mapping is taken as
    it is, so ``{}`` means no proxy at all.
    """
    if isinstance(proxies, Mapping):
        return {str(k): str(v) for k, v in proxies.items()}
    if not proxies:
        return dict(SHARE_PROXIES)
    items = [proxies] if isinstance(proxies, str) else list(proxies)
    out: dict[str, str] = {}
    for item in (x for v in items for x in str(v).split(",") if x.strip()):
        name, sep, proxy = item.partition("=")
        if not sep or not name.strip() or not proxy.strip():
            from critmat.errors import ParameterError

            raise ParameterError(
                f"proxy '{item}' is not MATERIAL=PROXY (e.g. rare_earths=neodymium)"
            )
        out[name.strip()] = proxy.strip()
    return out or dict(SHARE_PROXIES)
