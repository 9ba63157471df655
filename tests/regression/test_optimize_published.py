"""Shortfall valuation against a published table (METHODS.md §6.1 and §6.5 TV4).

Source: Office of the Under Secretary of Defense (AT&L), "Strategic and Critical Materials
2013 Report on Stockpile Requirements", January 2013, Table 10-1 "Effect of Extra Buy on Base
Case Material Shortfalls" (copy read: fliphtml5.com/ufty/gcru; transcribed in
reference/stockpiles-and-decisions/dod_2013_nds_base_case_shortfalls_extra_buy.csv).

RAMF-SM values shortfalls at market prices - critmat's default shortage cost (priority
weight 1 x price). Scoring the base-case shortfall as a one-scenario gap, and the extra buy
as a stock, must reproduce the table's dollar values. Units are the table's (short tons,
kg, lb); the model is unit-agnostic. Prices are implied by the table (value / quantity).
Tolerance: 0.01 $M (the table rounds to 0.01 $M; unit counts differ by +-1 from rounding).
"""

from __future__ import annotations

import numpy as np
import pytest

from critmat.optimize import ScenarioSet, evaluate_stock, resolve_parameters

# material: (base units, base $M, with-extra-buy units, with $M, reduction units, reduction $M)
TABLE_10_1 = {
    "aluminum_oxide_fused_crude": (231_485, 131.67, 205_986, 117.17, 25_498, 14.50),
    "antimony": (22_575, 182.04, 15_195, 122.53, 7_379, 59.50),
    "gallium": (17_686, 10.48, 13_750, 8.15, 3_936, 2.33),
    "germanium": (28_888, 35.66, 21_605, 26.67, 7_284, 8.99),
    "silicon_carbide": (81_869, 93.88, 62_715, 71.91, 19_154, 21.96),
    "tungsten": (11_288_268, 84.26, 4_311_920, 32.19, 6_976_348, 52.08),
}


def test_dod_2013_extra_buy_valuation() -> None:
    names = list(TABLE_10_1)
    base = np.array([TABLE_10_1[m][0] for m in names], dtype=float)
    value = np.array([TABLE_10_1[m][1] for m in names]) * 1e6
    buy = np.array([TABLE_10_1[m][4] for m in names], dtype=float)
    sc = ScenarioSet.from_arrays(base[None, :, None], materials=names)
    par = resolve_parameters(
        [{"material": m, "price_eur_t": v / b} for m, v, b in zip(names, value, base, strict=True)],
        names,
    )
    out = evaluate_stock(sc, par, buy).table.set_index("material")
    for m in names:
        _b, b_musd, w_units, w_musd, _r, r_musd = TABLE_10_1[m]
        before = out.loc[m, "expected_shortage_cost_eur_before"] / 1e6
        after = out.loc[m, "expected_shortage_cost_eur_after"] / 1e6
        assert before == pytest.approx(b_musd, abs=0.01), m
        assert after == pytest.approx(w_musd, abs=0.01), m
        assert before - after == pytest.approx(r_musd, abs=0.01), m
        assert out.loc[m, "expected_shortfall_t_after"] == pytest.approx(w_units, abs=1.0), m
    # antimony's implied price: 182.04 $M / 22,575 short tons = 8,064 $/short ton (TV4)
    assert par.price[names.index("antimony")] == pytest.approx(8064, abs=0.5)
