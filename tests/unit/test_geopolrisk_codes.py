"""Integer coding of the GeoPolRisk grid: the Arrow path gives what ``Index.get_indexer`` gives.

Codes (ISO-3 and material ids) below are examples, not data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from critmat.methods.geopolrisk import _Grid, _unique_text

INDEX = pd.Index(["DEU", "FRA", "CHN", None], dtype=object)
VALUES = ["CHN", "USA", None, "DEU", "DEU", "FRA"]


def _grid() -> _Grid:
    empty = np.zeros(0, dtype=np.int64)
    return _Grid(["a"], ["u"], [2020], INDEX, empty, empty)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(VALUES, dtype=object),
        pd.Series(VALUES, dtype="string[pyarrow]"),
        pd.Series(VALUES, dtype="string"),
        pd.Series(pd.arrays.ArrowExtensionArray(pa.array(VALUES, type=pa.large_string()))),
        np.asarray(VALUES, dtype=object),
        VALUES,
    ],
    ids=["object", "arrow", "string", "large_string", "ndarray", "list"],
)
def test_text_codes_equal_get_indexer(values: object) -> None:
    got = _grid().codes(values, INDEX)  # type: ignore[arg-type]
    expected = INDEX.get_indexer(pd.Series(VALUES, dtype=object))
    np.testing.assert_array_equal(got, expected)
    assert got.tolist() == [2, -1, 3, 0, 0, 1]  # NA matches the NA entry, USA is absent


def test_codes_without_na_in_the_index_and_integers() -> None:
    g = _grid()
    idx = pd.Index(["DEU", "FRA"])
    assert g.codes(pd.Series(["FRA", None, "ITA"], dtype="string"), idx).tolist() == [1, -1, -1]
    years = pd.Index([2019, 2020, 2021])
    assert g.codes(pd.Series([2021, 2018, 2019]), years).tolist() == [2, -1, 0]
    # mixed objects that Arrow cannot hold as text fall back to pandas
    assert g.codes(np.asarray([1, "FRA"], dtype=object), idx).tolist() == [-1, 1]


def test_unique_text_in_order_of_appearance() -> None:
    out = _unique_text(
        [
            pd.Series(["FRA", "DEU"], dtype="string[pyarrow]"),
            pd.Series(["CHN", "FRA", None], dtype=object),
        ]
    )
    assert out.tolist() == ["FRA", "DEU", "CHN", None]
    assert out.dtype == object
