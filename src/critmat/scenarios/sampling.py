"""Monte Carlo draws of the uncertain shock parameters (seeded, all drawn up front).

Each (shock, parameter) pair has its own stream, ``numpy.random.default_rng([seed, shock,
parameter])``, so adding a shock does not change the draws of the others, and every draw is
made before the scenarios are split into chunks: chunking (locally or on Dask) cannot change
the results.
"""

from __future__ import annotations

import numpy as np

from critmat.scenarios.engine import ShockDraws
from critmat.scenarios.spec import Scenario

__all__ = ["PARAMETERS", "draw"]

#: Sampled parameters in stream order (the position is part of the stream key).
PARAMETERS = ("onset", "duration", "severity", "leakage", "ramp", "occurs")


def draw(scenario: Scenario, samples: int, seed: int) -> ShockDraws:
    """Draw every shock parameter for ``samples`` scenarios.

    Parameters
    ----------
    scenario
        The scenario (its shocks, in order, are the columns).
    samples
        Number of scenarios S.
    seed
        Seed (a non-negative integer).

    Returns
    -------
    ShockDraws
        ``[S, K]`` arrays; a duration of ``None`` (until the horizon) is ``inf``.
    """
    k = len(scenario.shocks)
    out = {p: np.empty((samples, k)) for p in PARAMETERS}
    for i, shock in enumerate(scenario.shocks):
        params = shock.params()
        for j, name in enumerate(PARAMETERS[:-1]):
            dist = params[name]
            rng = np.random.default_rng([seed, i, j])
            out[name][:, i] = np.inf if dist is None else dist.sample(rng, samples)
        rng = np.random.default_rng([seed, i, len(PARAMETERS) - 1])
        out["occurs"][:, i] = (
            rng.random(samples) < shock.probability if shock.probability < 1 else 1.0
        )
    return ShockDraws(
        onset=out["onset"],
        duration=out["duration"],
        severity=out["severity"],
        leakage=out["leakage"],
        ramp=out["ramp"],
        occurs=out["occurs"].astype(bool),
    )
