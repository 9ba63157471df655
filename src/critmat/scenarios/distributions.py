"""Distributions of uncertain scenario parameters (pydantic models that sample with numpy).

A parameter is a plain number (:class:`Fixed`) or one of ``uniform``, ``triangular``,
``normal``, ``lognormal``, ``beta``, ``choice``, written as a mapping with ``dist:``::

    {dist: lognormal, median: 18, sigma: 0.5, high: 60}

Each knows its support (used to validate ranges before anything is drawn) and draws with a
given ``numpy.random.Generator``. Draws outside ``low``/``high`` are set to the bound.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WrapSerializer, model_validator

__all__ = [
    "DIST_KINDS",
    "Beta",
    "Choice",
    "Distribution",
    "Fixed",
    "LogNormal",
    "Normal",
    "Param",
    "Triangular",
    "Uniform",
]


class _Dist(BaseModel):
    """Common base of the distributions (numbers are :class:`Fixed`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: str

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        raise NotImplementedError

    @property
    def uncertain(self) -> bool:
        """Whether draws can differ."""
        lo, hi = self.support()
        return lo != hi

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Short text, e.g. ``lognormal(median 18, sigma 0.5, <= 60)``."""
        return str(self)

    @staticmethod
    def _clip(x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        if low is not None or high is not None:
            x = np.clip(x, -np.inf if low is None else low, np.inf if high is None else high)
        return x


class Fixed(_Dist):
    """A known value (write it as a plain number)."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(allow_inf_nan=False)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        return (self.value, self.value)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        return np.full(n, self.value, dtype=np.float64)

    def describe(self) -> str:
        """Short text."""
        return f"{self.value:g}"


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) is below low ({self.low:g})")
        return self

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        return rng.uniform(self.low, self.high, n)

    def describe(self) -> str:
        """Short text."""
        return f"uniform({self.low:g}-{self.high:g})"


class Triangular(_Dist):
    """Triangular with ``low <= mode <= high``."""

    dist: Literal["triangular"]
    low: float = Field(allow_inf_nan=False)
    mode: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"needs low <= mode <= high, got {self.low:g}, {self.mode:g}, {self.high:g}"
            )
        return self

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        if self.low == self.high:
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, n)

    def describe(self) -> str:
        """Short text."""
        return f"triangular({self.low:g}, {self.mode:g}, {self.high:g})"


class Normal(_Dist):
    """Normal with mean and standard deviation; draws outside [low, high] are set to the bound."""

    dist: Literal["normal"]
    mean: float = Field(allow_inf_nan=False)
    sd: float = Field(ge=0, allow_inf_nan=False)
    low: float | None = None
    high: float | None = None

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.sd == 0:
            v = float(self._clip(np.array([self.mean]), self.low, self.high)[0])
            return (v, v)
        return (
            -math.inf if self.low is None else self.low,
            math.inf if self.high is None else self.high,
        )

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        return self._clip(rng.normal(self.mean, self.sd, n), self.low, self.high)

    def describe(self) -> str:
        """Short text."""
        return f"normal({self.mean:g}, sd {self.sd:g})"


class LogNormal(_Dist):
    """Log-normal by its median and log-space standard deviation ``sigma``.

    The 5th and 95th percentiles are ``median * exp(-/+1.645 sigma)``; draws outside
    [low, high] are set to the bound.
    """

    dist: Literal["lognormal"]
    median: float = Field(gt=0, allow_inf_nan=False)
    sigma: float = Field(ge=0, allow_inf_nan=False)
    low: float | None = None
    high: float | None = None

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.sigma == 0:
            v = float(self._clip(np.array([self.median]), self.low, self.high)[0])
            return (v, v)
        return (
            0.0 if self.low is None else max(0.0, self.low),
            math.inf if self.high is None else self.high,
        )

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        return self._clip(rng.lognormal(math.log(self.median), self.sigma, n), self.low, self.high)

    def describe(self) -> str:
        """Short text."""
        cap = f", <= {self.high:g}" if self.high is not None else ""
        return f"lognormal(median {self.median:g}, sigma {self.sigma:g}{cap})"


class Beta(_Dist):
    """Beta(a, b) scaled to [low, high] (default 0-1)."""

    dist: Literal["beta"]
    a: float = Field(gt=0, allow_inf_nan=False)
    b: float = Field(gt=0, allow_inf_nan=False)
    low: float = Field(default=0.0, allow_inf_nan=False)
    high: float = Field(default=1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> Beta:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) is below low ({self.low:g})")
        return self

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, n)

    def describe(self) -> str:
        """Short text."""
        return f"beta({self.a:g}, {self.b:g}) on {self.low:g}-{self.high:g}"


class Choice(_Dist):
    """One of ``values`` with optional ``weights`` (normalised)."""

    dist: Literal["choice"]
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries for {len(self.values)} values"
                )
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return self

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        vals = [
            v
            for v, w in zip(self.values, self.weights or [1.0] * len(self.values), strict=True)
            if w > 0
        ]
        return (min(vals), max(vals))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (float64)."""
        p = None
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            p = w / w.sum()
        return rng.choice(np.asarray(self.values, dtype=np.float64), size=n, p=p)

    def describe(self) -> str:
        """Short text."""
        return "choice(" + ", ".join(f"{v:g}" for v in self.values) + ")"


#: Distribution kinds accepted in ``dist:``.
DIST_KINDS = ("fixed", "uniform", "triangular", "normal", "lognormal", "beta", "choice")

Distribution = Annotated[
    Fixed | Uniform | Triangular | Normal | LogNormal | Beta | Choice,
    Field(discriminator="dist"),
]


def _number_to_fixed(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # rejected by the union: a bool is not a parameter
    if isinstance(value, int | float):
        return {"dist": "fixed", "value": value}
    return value


def _serialise_param(value: Any, handler: Any) -> Any:
    return value.value if isinstance(value, Fixed) else handler(value)


#: A number or a distribution.
Param = Annotated[Distribution, BeforeValidator(_number_to_fixed), WrapSerializer(_serialise_param)]
