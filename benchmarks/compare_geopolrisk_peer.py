"""Compare critmat's GeoPolRisk with the reference implementation geopolrisk-py 2.0.1.

Runs the peer (in its own interpreter, see ``peer_geopolrisk.py`` and README "Comparing
with geopolrisk-py") and critmat on the same selection, critmat with the peer-compatible
options (:data:`critmat.indicators.geopolrisk.PEER_COMPATIBLE`: missing governance filled
with 0.5, price over all values), and prints agreement statistics. Every row that does not
agree to ``--rtol`` is put in a category that explains it (see docs/geopolrisk.md):

* ``peer_nan``: the peer returns NaN (its WGI table stores the strings 'nan'/'None');
* ``no_trade``: the peer reports 0 where critmat reports no value (no imports, imports
  without quantity, no trade at all in the year, e.g. germanium);
* ``non_mass_production``: natural gas, whose production (million m3) the peer adds to
  imports in tonnes;
* ``governance:<ISO3,...>``: the row agrees once critmat uses the peer's own WGI table
  (read from the peer's bundled ``baci.db``), and these exporters' g differ (e.g. the peer
  gives Taiwan 0.5, takes Guyana's first of two rows, Jersey's series for PUS);
* ``hhi_integer_truncation``: the peer truncates production to whole tonnes before the
  HHI (``astype(int)``): HHI, score and CF differ by the same ratio (< 1e-7);
* ``production``: domestic production differs (World Mining Data rows the peer assigns to
  other economies, e.g. Kosovo to 'Europe EFTA, nes', French Guiana to Guyana);
* ``unexplained``: anything else (none expected).

Usage::

    python benchmarks/compare_geopolrisk_peer.py --materials nickel,graphite \\
        --importers USA,DEU,EU27 --years 2022 [--peer-python PATH] [--components]
    python benchmarks/compare_geopolrisk_peer.py --peer-csv peer_output.csv
    python benchmarks/compare_geopolrisk_peer.py ... --save-sample tests/data

``--peer-csv`` reuses a peer output (this script's format) instead of running the peer.
``--save-sample DIR`` writes ``geopolrisk_peer_sample.csv``, its provenance and
``geopolrisk_peer_governance.csv`` (the peer's g where it differs from critmat's) for the
regression test; ``--save-differences DIR`` writes the peer's rows whose score differs from
critmat's peer-compatible score by more than 0.1 % (``geopolrisk_peer_wide_differences.csv``,
its provenance and ``geopolrisk_peer_wide_governance.csv``), the wide-grid regression test of
docs/geopolrisk.md. Provenance files record the command with machine paths replaced
(``PEER_PYTHON``, file names only).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import critmat
from critmat.indicators.geopolrisk import PEER_COMPATIBLE, GeoPolRiskInputs, geopolrisk_inputs
from critmat.knowledge_base import KnowledgeBase
from critmat.methods.geopolrisk import geopolrisk_cube
from critmat.params import parse_years, split_list
from peer_geopolrisk import PEER_MATERIALS, find_peer_python, peer_material_ids, run_peer

COLUMNS = ("hhi", "import_risk", "score", "price", "cf")
COMPUTED = ("ok", "governance_filled")


_PATH_OPTIONS = ("--peer-csv", "--peer-db", "--out", "--save-sample", "--save-differences")


def portable_command(argv: list[str]) -> str:
    """The command line without machine paths (for provenance files).

    ``--peer-python`` becomes ``PEER_PYTHON``; other path options keep the file or folder
    name only (``tests/data`` stays as given when relative).
    """
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name == "--peer-python" or name in _PATH_OPTIONS:
            v = value if eq else next(it, "")
            if name == "--peer-python":
                v = "PEER_PYTHON"
            elif Path(v).is_absolute():
                v = Path(v).name
            out += [name, v]
        else:
            out.append(arg)
    return "python benchmarks/compare_geopolrisk_peer.py " + " ".join(out)


#: Relative difference of the score above which a peer row goes into the wide sample.
WIDE_RTOL = 1e-3


def peer_lib(python: Path) -> Path:
    """Folder of the peer's bundled SQLite data (imports only the peer's empty package)."""
    code = "import geopolrisk, pathlib; print(pathlib.Path(geopolrisk.__file__).parent / 'lib')"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def peer_governance(baci_db: Path) -> pd.DataFrame:
    """The g the peer joins to each partner: ``country, year, g, peer_value``.

    The peer joins ``v_wgi_year_country`` on the BACI partner code and takes the first
    match; no match means it fills 0.5 (these partners have no row here); a stored 'nan' or
    'None' string makes its result NaN (``peer_value = 'nan'``).
    """
    with sqlite3.connect(baci_db) as con:
        view = pd.read_sql("select Year, country_code, wgi from v_wgi_year_country", con)
        codes = pd.read_sql("select country_code, country_iso3 from country_codes_V202401b", con)
    view = view.drop_duplicates(["country_code", "Year"], keep="first")
    view = view.merge(codes, on="country_code", how="inner")
    iso3 = view["country_iso3"].str.upper().replace({"S19": "TWN"})
    text = view["wgi"].astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    return pd.DataFrame(
        {
            "country": iso3,
            "year": view["Year"].astype(int),
            "g": numeric,
            "peer_value": np.where(numeric.isna(), "nan", "value"),
        }
    ).drop_duplicates(["country", "year"], keep="first")


def governance_differences(
    critmat_g: pd.DataFrame, peer_g: pd.DataFrame, years: list[int]
) -> pd.DataFrame:
    """Partner-years whose g differs: ``country, year, g_critmat, g_peer, peer_value``.

    ``peer_value`` is ``value``, ``nan`` (peer result NaN) or ``missing`` (peer fills 0.5).
    """
    a = critmat_g[critmat_g["year"].isin(years)].rename(columns={"g": "g_critmat"})
    b = peer_g[peer_g["year"].isin(years)].rename(columns={"g": "g_peer"})
    m = a.merge(b, on=["country", "year"], how="outer")
    m["peer_value"] = m["peer_value"].fillna("missing")
    same = np.isclose(m["g_critmat"], m["g_peer"], rtol=0, atol=1e-15)
    diff = m[~same & ~(m["g_critmat"].isna() & (m["peer_value"] == "missing"))]
    return diff.sort_values(["country", "year"], ignore_index=True)


def peer_like_governance(critmat_g: pd.DataFrame, diff: pd.DataFrame) -> pd.DataFrame:
    """critmat's g with the peer's values where they differ (missing -> no row -> 0.5)."""
    keys = pd.MultiIndex.from_frame(diff[["country", "year"]])
    base = critmat_g[~pd.MultiIndex.from_frame(critmat_g[["country", "year"]]).isin(keys)]
    extra = diff[diff["peer_value"] == "value"][["country", "year", "g_peer"]]
    if extra.empty:
        return base.reset_index(drop=True)
    return pd.concat([base, extra.rename(columns={"g_peer": "g"})], ignore_index=True)


def load_peer_csv(path: Path) -> pd.DataFrame:
    """Read a peer output (this repository's driver, or run_peer.py with ``country``)."""
    frame = pd.read_csv(path)
    if "importer" not in frame.columns and "country" in frame.columns:
        frame = frame.rename(
            columns={
                "country": "importer",
                "total_trade": "imports_t",
                "domestic_production": "domestic_production_t",
            }
        )
    back = {v: k for k, v in PEER_MATERIALS.items()}
    frame["material"] = frame["material"].map(lambda m: back.get(m, m))
    if "status" in frame.columns:
        frame = frame[frame["status"].fillna("ok") == "ok"]
    keep = [
        "material",
        "importer",
        "year",
        *COLUMNS,
        *[c for c in ("numerator", "imports_t", "domestic_production_t") if c in frame.columns],
    ]
    return frame[keep].reset_index(drop=True)


def _close(a: pd.Series, b: pd.Series, rtol: float) -> np.ndarray:
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    return np.asarray(np.isclose(x, y, rtol=rtol, atol=1e-12) | (np.isnan(x) & np.isnan(y)))


def _cube(inputs: GeoPolRiskInputs, governance: pd.DataFrame) -> pd.DataFrame:
    opts = {k: v for k, v in PEER_COMPATIBLE.items() if k != "governance_vintage"}
    return geopolrisk_cube(
        inputs.trade,
        inputs.production,
        governance,
        inputs.units,
        materials=inputs.materials,
        years=inputs.years,
        assessable=inputs.assessable,
        **opts,
    )


def compare(
    kb: KnowledgeBase, peer: pd.DataFrame, *, peer_g: pd.DataFrame | None, rtol: float = 1e-9
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join critmat (peer-compatible) and peer results and explain every difference.

    Returns
    -------
    tuple
        The joined rows with a ``category`` column, and the governance differences used.
    """
    known = set(kb.sql("select country from countries")["country"])
    peer = peer[peer["importer"].isin(known | {"EU27"})]
    mats = sorted(set(peer["material"]))
    importers = sorted(set(peer["importer"]))
    years = sorted({int(y) for y in peer["year"]})
    inputs = geopolrisk_inputs(kb, materials=mats, importers=importers, years=years)
    ours = _cube(inputs, inputs.governance)
    m = peer.merge(ours, on=["material", "importer", "year"], suffixes=("_peer", ""))
    ok = np.ones(len(m), dtype=bool)
    for c in COLUMNS:
        ok &= _close(m[c], m[f"{c}_peer"], rtol)
    cat = np.full(len(m), "unexplained", dtype=object)
    cat[ok] = "agree"
    todo = ~ok & m["score_peer"].isna().to_numpy()
    cat[todo] = "peer_nan"
    todo = ~ok & ~todo
    no_trade = m["status"].isin(["no_imports", "no_import_quantity", "not_assessable"])
    sel = todo & no_trade.to_numpy() & (m["score_peer"].fillna(-1) == 0).to_numpy()
    cat[sel] = "no_trade"
    sel = todo & (m["status"] == "production_not_in_tonnes").to_numpy()
    cat[sel] = "non_mass_production"
    diff = pd.DataFrame(columns=["country", "year", "g_critmat", "g_peer", "peer_value"])
    todo = cat == "unexplained"
    if peer_g is not None and todo.any():
        diff = governance_differences(inputs.governance, peer_g, years)
        emulated = _cube(inputs, peer_like_governance(inputs.governance, diff))
        e = m[["material", "importer", "year"]].merge(emulated, how="left")
        fixed = np.ones(len(m), dtype=bool)
        for c in COLUMNS:
            fixed &= _close(e[c], m[f"{c}_peer"], rtol)
        fixed &= todo
        if fixed.any():
            blame = np.full(len(m), "", dtype=object)
            for country in sorted(set(diff["country"])):  # a handful of partners
                one = peer_like_governance(inputs.governance, diff[diff["country"] == country])
                r = m[["material", "importer", "year"]].merge(_cube(inputs, one), how="left")
                moved = ~np.isclose(r["score"], m["score"], rtol=1e-12, atol=0, equal_nan=True)
                blame[fixed & moved] += country + ","
            cat[fixed] = ["governance:" + b.rstrip(",") for b in blame[fixed]]
    todo = cat == "unexplained"
    # the peer truncates production to whole units (astype(int)) before the HHI: the HHI
    # differs slightly and score and CF by the same ratio, nothing else
    hhi_ratio = m["hhi"].to_numpy(float) / m["hhi_peer"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        score_ratio = m["score"].to_numpy(float) / m["score_peer"].to_numpy(float)
    trunc = (
        (np.abs(hhi_ratio - 1) < 1e-7)
        & (np.abs(score_ratio - hhi_ratio) < 1e-12)
        & _close(m["import_risk"], m["import_risk_peer"], rtol)
        & _close(m["price"], m["price_peer"], rtol)
    )
    cat[todo & trunc] = "hhi_integer_truncation"
    todo = cat == "unexplained"
    if "domestic_production_t_peer" in m.columns:
        p_diff = ~_close(m["domestic_production_t"], m["domestic_production_t_peer"], 1e-9)
        cat[todo & p_diff] = "production"
    else:
        p_sensitive = m["importer"].isin(["GUY", "GUF", "XKX", "R20"]).to_numpy()
        cat[todo & p_sensitive] = "production"
    m["category"] = cat
    return m, diff


def _stats(m: pd.DataFrame, rtol: float) -> pd.DataFrame:
    both = m[m["status"].isin(COMPUTED) & m["score_peer"].notna()]
    rows = []
    for c in COLUMNS:
        a, b = both[c].to_numpy(float), both[f"{c}_peer"].to_numpy(float)
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
        rel[(a == 0) & (b == 0)] = 0.0
        rows.append(
            {
                "column": c,
                "rows": len(both),
                "within_rtol": int(np.sum(_close(both[c], both[f"{c}_peer"], rtol))),
                "median_rel_diff": float(np.nanmedian(rel)) if len(rel) else np.nan,
                "max_rel_diff": float(np.nanmax(rel)) if len(rel) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def report(m: pd.DataFrame, diff: pd.DataFrame, rtol: float) -> None:
    """Print agreement statistics and the explained categories."""
    print(
        f"compared {len(m):,} material x importer x year results "
        f"({m['material'].nunique()} materials, {m['importer'].nunique()} importers, "
        f"years {', '.join(str(y) for y in sorted(m['year'].unique()))})"
    )
    print(
        f"\nagreement where both compute a value (critmat status ok/governance_filled), "
        f"rtol {rtol:g}:"
    )
    print(_stats(m, rtol).to_string(index=False))
    print("\nevery row by category:")
    counts = m["category"].value_counts()
    for name, n in counts.items():
        print(f"  {name:<40} {n:>7,}  ({n / len(m):6.2%})")
    if len(diff):
        partners = diff.groupby("country").agg(
            years=("year", "nunique"), peer=("peer_value", "first")
        )
        print(
            "\nexporters whose g differs between the peer's WGI table and critmat's "
            "(wgi_pv_geopolrisk):"
        )
        print(partners.to_string())


def main() -> int:
    """Run the comparison and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--materials",
        default="nickel,manganese,graphite,copper,cobalt",
        help="critmat ids, or 'all' (the peer's 53 materials)",
    )
    ap.add_argument("--importers", default="USA,DEU,FRA,JPN,CHN,EU27")
    ap.add_argument("--years", default="2022")
    ap.add_argument(
        "--peer-python",
        default=None,
        help="interpreter of the peer's venv [$CRITMAT_PEER_PYTHON, peer-venv/bin/python]",
    )
    ap.add_argument(
        "--peer-csv",
        type=Path,
        default=None,
        help="use this peer output instead of running the peer",
    )
    ap.add_argument(
        "--peer-db",
        type=Path,
        default=None,
        help="the peer's baci.db (for its WGI table) [from the peer's venv]",
    )
    ap.add_argument(
        "--components",
        action="store_true",
        help="also get numerator, imports and domestic production from the peer",
    )
    ap.add_argument("--rtol", type=float, default=1e-9)
    ap.add_argument(
        "--save-sample",
        type=Path,
        default=None,
        help="write the peer output, its provenance and the governance "
        "differences to this folder (tests/data)",
    )
    ap.add_argument(
        "--save-differences",
        type=Path,
        default=None,
        help="write the peer rows whose score differs by more than 0.1 %% (with provenance "
        "and the governance differences) to this folder (tests/data)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write the joined rows (CSV)")
    args = ap.parse_args()

    kb = critmat.load(user_data=False)
    python = find_peer_python(args.peer_python)
    timings: dict[str, Any] = {}
    if args.peer_csv is not None:
        peer = load_peer_csv(args.peer_csv)
        source = f"peer output {args.peer_csv}"
    else:
        if python is None:
            print(
                "geopolrisk-py not found (give --peer-python or $CRITMAT_PEER_PYTHON, or "
                "--peer-csv); see README 'Comparing with geopolrisk-py'"
            )
            return 0
        mats = split_list(args.materials)
        ids = (
            sorted(PEER_MATERIALS)
            if mats is None
            else peer_material_ids(kb.resolve_materials(mats) or [])
        )
        importers = split_list(args.importers) or []
        years = parse_years(args.years) or []
        print(
            f"running geopolrisk-py ({python}) on {len(ids)} materials x "
            f"{len(importers)} importers x {len(years)} years ...",
            file=sys.stderr,
        )
        run = run_peer(
            python, materials=ids, importers=importers, years=years, components=args.components
        )
        peer, timings = run.frame, run.timings
        source = f"geopolrisk-py {timings.get('peer_version')} run now"
    db = args.peer_db
    if db is None and python is not None:
        db = peer_lib(python) / "baci.db"
    peer_g = peer_governance(db) if db is not None and db.exists() else None
    m, diff = compare(kb, peer, peer_g=peer_g, rtol=args.rtol)
    print(
        f"source: {source}; critmat {critmat.__version__}, dataset {kb.version}, options "
        f"{PEER_COMPATIBLE}"
    )
    if timings:
        print(
            f"peer timings: import {timings['import_seconds']:.1f} s, gprs_calc "
            f"{timings['call_seconds']:.1f} s (of which mapped_baci "
            f"{timings['mapped_baci_seconds']:.1f} s, loop {timings['loop_seconds']:.1f} s)"
            f" for {timings['n_results']} results"
        )
    n_unknown = len(peer) - len(m)
    if n_unknown:
        print(
            f"({n_unknown} peer rows are for BACI entities critmat does not know as "
            "economies, e.g. historic ones; not compared)"
        )
    if peer_g is None:
        print(
            "(the peer's WGI table was not found: governance differences are not "
            "attributed; give --peer-db)"
        )
    report(m, diff, args.rtol)
    if args.out is not None:
        m.to_csv(args.out, index=False)
    if args.save_sample is not None:
        folder = args.save_sample
        folder.mkdir(parents=True, exist_ok=True)
        peer.to_csv(folder / "geopolrisk_peer_sample.csv", index=False)
        years = sorted({int(y) for y in peer["year"]})
        diff[diff["year"].isin(years)].to_csv(
            folder / "geopolrisk_peer_governance.csv", index=False
        )
        prov = {
            "peer": f"geopolrisk-py {timings.get('peer_version', '2.0.1')} (PyPI), "
            "gprs_calc(years, countries, materials)"
            + (" plus core.importrisk/core.HHI for the components" if args.components else ""),
            "command": portable_command(sys.argv[1:]),
            "selection": {
                "materials": sorted(set(peer["material"])),
                "importers": sorted(set(peer["importer"])),
                "years": years,
            },
            "date": datetime.now(UTC).date().isoformat(),
            "critmat_dataset": kb.version,
            "governance_file": "geopolrisk_peer_governance.csv: partner-years whose g in "
            "the peer's baci.db view v_wgi_year_country (first row per "
            "BACI code; none = filled with 0.5) differs from critmat's "
            "wgi_pv_geopolrisk",
            "licence": "results computed from BACI (Etalab 2.0), World Mining Data and WGI "
            "(CC BY 4.0); no peer code",
        }
        (folder / "geopolrisk_peer_sample.provenance.json").write_text(
            json.dumps(prov, indent=2) + "\n", encoding="utf-8"
        )
        print(f"\nwrote the sample to {folder}")
    if args.save_differences is not None:
        save_differences(args.save_differences, m, peer, diff, kb, timings)
    return 0


def save_differences(
    folder: Path,
    m: pd.DataFrame,
    peer: pd.DataFrame,
    diff: pd.DataFrame,
    kb: KnowledgeBase,
    timings: dict[str, Any],
) -> None:
    """Write the peer rows whose score differs by more than :data:`WIDE_RTOL`, explained."""
    both = m[m["status"].isin(COMPUTED) & m["score_peer"].notna()]
    rel = (both["score"] - both["score_peer"]).abs() / both["score_peer"].abs()
    big = both[(rel > WIDE_RTOL).to_numpy()]
    keys = ["material", "importer", "year"]
    rows = peer.merge(big[keys], on=keys).sort_values(keys, ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / "geopolrisk_peer_wide_differences.csv", index=False)
    diff.to_csv(folder / "geopolrisk_peer_wide_governance.csv", index=False)
    counts = big["category"].value_counts().to_dict()
    prov = {
        "peer": f"geopolrisk-py {timings.get('peer_version', '2.0.1')} (PyPI), "
        "gprs_calc(years, countries, materials) plus core.importrisk/core.HHI",
        "command": portable_command(sys.argv[1:]),
        "grid": {
            "materials": sorted(set(peer["material"])),
            "importers": sorted(set(peer["importer"])),
            "years": sorted({int(y) for y in peer["year"]}),
            "peer_rows": len(peer),
            "rows_both_compute": len(both),
        },
        "selection": f"rows whose GeoPolRisk score differs from critmat's peer-compatible "
        f"score by more than {WIDE_RTOL:g} relative: {len(rows)} of {len(both)}",
        "causes": {str(k): int(v) for k, v in counts.items()},
        "date": datetime.now(UTC).date().isoformat(),
        "critmat_dataset": kb.version,
        "governance_file": "geopolrisk_peer_wide_governance.csv: partner-years whose g in "
        "the peer's baci.db view v_wgi_year_country (first row per BACI code; none = filled "
        "with 0.5) differs from critmat's wgi_pv_geopolrisk",
        "licence": "results computed from BACI (Etalab 2.0), World Mining Data and WGI "
        "(CC BY 4.0); no peer code",
    }
    (folder / "geopolrisk_peer_wide_differences.provenance.json").write_text(
        json.dumps(prov, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(rows)} differing rows to {folder}")


if __name__ == "__main__":
    raise SystemExit(main())
