"""Invariants of the EU CRM supply risk and economic importance (hypothesis).

Each example scores a batch of random materials in one vectorised call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from critmat.methods.eu_crm import (
    bottleneck,
    economic_importance,
    hhi_wgi_t,
    supply_risk_by_stage,
)

share = st.floats(0.0, 1.0, allow_nan=False)
tvar = st.sampled_from([0.8, 1.0, 1.1, 1.2, 1.5])


@dataclass
class Case:
    """One material at one stage: global and EU-sourcing mixes over its own suppliers."""

    gs: list[float]
    eu: list[float]
    t_gs: list[float]
    t_eu: list[float]
    wgi: list[float]
    ir: float
    eol: float
    si: float


def _normalised(raw: list[float]) -> list[float]:
    return [x / max(sum(raw), 1e-9) for x in raw]


@st.composite
def case(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 4))
    return Case(
        gs=_normalised([draw(share) for _ in range(n)]),
        eu=_normalised([draw(share) for _ in range(n)]),
        t_gs=[draw(tvar) for _ in range(n)],
        t_eu=[draw(tvar) for _ in range(n)],
        wgi=[draw(st.floats(0.0, 10.0)) for _ in range(n)],
        ir=draw(st.floats(0.0, 1.0)),
        eol=draw(st.floats(0.0, 0.9)),
        si=draw(st.floats(0.1, 1.0)),
    )


cases = st.lists(case(), min_size=1, max_size=6)


def _score(
    batch: list[Case], *, wgi: list[list[float]] | None = None, ir: list[float] | None = None
) -> pd.DataFrame:
    """SR of every case (material m<i>, suppliers c<i>_<j>) in one call."""
    rows, gov, params = [], [], []
    for i, c in enumerate(batch):
        names = [f"c{i}_{j}" for j in range(len(c.gs))]
        rows += [
            (f"m{i}", "processing", "global", n, s, t)
            for n, s, t in zip(names, c.gs, c.t_gs, strict=True)
        ]
        rows += [
            (f"m{i}", "processing", "eu_sourcing", n, s, t)
            for n, s, t in zip(names, c.eu, c.t_eu, strict=True)
        ]
        gov += list(zip(names, wgi[i] if wgi is not None else c.wgi, strict=True))
        params.append(
            {
                "material": f"m{i}",
                "stages_assessed": "processing",
                "ir_extraction": np.nan,
                "ir_processing": c.ir if ir is None else ir[i],
                "eol_rir": c.eol,
                "si_sr": c.si,
            }
        )
    shares = pd.DataFrame(rows, columns=["material", "stage", "mix", "country", "share", "t"])
    hhi = hhi_wgi_t(shares, pd.DataFrame(gov, columns=["country", "wgi_scaled"]))
    out = supply_risk_by_stage(hhi, pd.DataFrame(params))
    wide = hhi.pivot(index="material", columns="mix", values="hhi_wgi_t")
    out["hhi_gs"], out["hhi_eu"] = (
        wide.loc[out["material"], "global"].to_numpy(),
        wide.loc[out["material"], "eu_sourcing"].to_numpy(),
    )
    return out.sort_values("material", key=lambda m: m.str[1:].astype(int), ignore_index=True)


@settings(max_examples=25)
@given(cases)
def test_supply_risk_is_non_negative_and_bounded(batch: list[Case]) -> None:
    sr = _score(batch)["sr"]
    # shares sum to 1, so HHI_WGI,t <= max(WGI) x max(t) = 10 x 1.5
    assert ((sr >= 0.0) & (sr <= 15.0 + 1e-9)).all()


@settings(max_examples=25)
@given(cases, st.integers(0, 3), st.floats(0.0, 5.0))
def test_supply_risk_never_falls_when_a_supplier_governs_worse(
    batch: list[Case], which: int, worse: float
) -> None:
    base = _score(batch)["sr"].to_numpy()
    values = [list(c.wgi) for c in batch]
    for v in values:
        v[which % len(v)] = min(10.0, v[which % len(v)] + worse)
    after = _score(batch, wgi=values)["sr"].to_numpy()
    assert (after >= base - 1e-12).all()


@settings(max_examples=25)
@given(cases, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_supply_risk_follows_import_reliance_towards_the_riskier_mix(
    batch: list[Case], a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    low = _score(batch, ir=[lo] * len(batch))
    high = _score(batch, ir=[hi] * len(batch))
    gs_riskier = (low["hhi_gs"] >= low["hhi_eu"]).to_numpy()
    rises = high["sr"].to_numpy() >= low["sr"].to_numpy() - 1e-12
    falls = high["sr"].to_numpy() <= low["sr"].to_numpy() + 1e-12
    assert np.where(gs_riskier, rises, falls).all()


@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 5.0)), min_size=1, max_size=6))
def test_bottleneck_is_the_maximum_stage(pairs: list[tuple[float, float]]) -> None:
    stages = pd.DataFrame(
        [
            {"material": f"m{i}", "stage": s, "mix": "GS+EU", "sr": v, "note": None}
            for i, (e, p) in enumerate(pairs)
            for s, v in (("extraction", e), ("processing", p))
        ]
    )
    out = bottleneck(stages).sort_values("material", key=lambda m: m.str[1:].astype(int))
    assert np.allclose(out["sr"], [max(e, p) for e, p in pairs])
    chosen = np.where(out["stage_used"] == "extraction", out["sr_extraction"], out["sr_processing"])
    assert np.allclose(chosen, out["sr"])


@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(1.0, 1e6)), min_size=1, max_size=8),
    st.floats(0.0, 1.0),
)
def test_economic_importance_stays_on_its_scale(uses: list[tuple[float, float]], si: float) -> None:
    shares = np.array([u[0] for u in uses])
    shares = shares / max(shares.sum(), 1e-9)
    end_use = pd.DataFrame(
        {"material": "m", "share": shares, "value_added_meur": [u[1] for u in uses]}
    )
    ei = economic_importance(end_use, pd.Series({"m": si}))["ei"].iloc[0]
    # shares sum to at most 1 and no sector exceeds the largest: EI in [0, 10 x SI]
    assert -1e-12 <= ei <= 10.0 * si + 1e-9
