"""Run the reference implementation geopolrisk-py 2.0.1 in its own interpreter.

geopolrisk-py is GPL-3 and needs Python < 3.12 and pandas <= 2.3.3, so critmat never
imports it: this module starts the peer's interpreter (a separate virtual environment, see
README "Comparing with geopolrisk-py") on a small driver that only *calls* the peer's public
function ``geopolrisk.assessment.main.gprs_calc`` (and, for ``components``, the public
``core.importrisk`` and ``core.HHI``), and reads back a tidy CSV and a JSON line of timings.

The peer writes ``$HOME/Documents/geopolrisk/...`` (logs, a copy of its Excel template,
``results.xlsx``, ``Datarecords.db``) at import and on every call; the driver points ``$HOME``
to a throw-away folder first so the user's home is not touched.

Timings reported by the driver (``time.perf_counter``):

* ``import_seconds``: ``import geopolrisk.assessment.main`` (loads BACI, WMD and WGI);
* ``mapped_baci_seconds``: the trade table ``gprs_calc`` rebuilds on every call (a fixed
  cost of every call, about 25 s, independent of the number of results);
* ``loop_seconds``: ``gprs_calc``'s loop over (year, country, material), i.e. the marginal
  cost of the results themselves;
* ``call_seconds``: the whole ``gprs_calc`` call (incl. its Excel and SQLite writes).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["PEER_MATERIALS", "PeerRun", "find_peer_python", "peer_material_ids", "run_peer"]

#: critmat material id -> geopolrisk-py 2.0.1 raw-material name (``utils.default_rmlist``).
PEER_MATERIALS: dict[str, str] = {
    "aluminium": "Aluminium",
    "antimony": "Antimony",
    "arsenic": "Arsenic",
    "asbestos": "Asbestos",
    "baryte": "Baryte",
    "bauxite": "Bauxite",
    "bentonite": "Bentonite",
    "beryllium": "Beryllium",
    "bismuth": "Bismuth",
    "boron": "Boron",
    "cadmium": "Cadmium",
    "chromium": "Chromite",
    "cobalt": "Cobalt",
    "coking_coal": "Coking Coal",
    "copper": "Copper",
    "diatomite": "Diatomite",
    "feldspar": "Feldspar",
    "fluorspar": "Fluorspar",
    "germanium": "Germanium",
    "gold": "Gold",
    "graphite": "Graphite",
    "gypsum": "Gypsum",
    "iron_ore": "Iron",
    "kaolin": "Kaolin",
    "lead": "Lead",
    "lignite": "Lignite",
    "lithium": "Lithium",
    "magnesite": "Magnesite",
    "manganese": "Manganese",
    "mercury": "Mercury",
    "molybdenum": "Molybdenum",
    "natural_gas": "Natural gas",
    "nickel": "Nickel",
    "niobium": "Niobium",
    "palladium": "Palladium",
    "petroleum": "Crude oil",
    "phosphate_rock": "Phosphate",
    "platinum": "Platinum",
    "rare_earths": "Rare earth",
    "rhodium": "Rhodium",
    "selenium": "Selenium",
    "silver": "Silver",
    "steam_coal": "Steam Coal",
    "sulphur": "Sulfur",
    "tantalum": "Tantalum",
    "tellurium": "Tellurium",
    "tin": "Tin",
    "titanium": "Titanium",
    "tungsten": "Tungsten",
    "uranium": "Uranium",
    "vanadium": "Vanadium",
    "zinc": "Zinc",
    "zirconium": "Zirconium",
}

# The driver runs under the peer's interpreter. It is critmat's own code (MIT) and only
# calls the peer's public functions.
_DRIVER = r"""
import contextlib, json, os, sqlite3, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])
os.environ["HOME"] = args["home"]
Path(args["home"]).mkdir(parents=True, exist_ok=True)
real_stdout = sys.stdout
t0 = time.perf_counter()
with contextlib.redirect_stdout(sys.stderr):
    import pandas as pd
    import geopolrisk
    from geopolrisk.assessment import main as M
    from geopolrisk.assessment import core as C
    from geopolrisk.assessment.database import databases as D
t_import = time.perf_counter() - t0
lib = Path(geopolrisk.__file__).parent / "lib"
with sqlite3.connect(lib / "baci.db") as con:
    rows = con.execute("select country_code, country_iso3 from country_codes_V202401b").fetchall()
iso = D.production["Country_ISO"]
code_to_name = {int(c): str(n) for c, n in zip(iso["ISO"], iso["Country"])}
iso3_codes = {}
for code, i3 in rows:
    code = int(code)
    if code in code_to_name:
        iso3_codes.setdefault(str(i3).upper(), []).append(code)
def peer_country(c):
    if c.upper() in ("EU", "EU27"):
        return "EU"
    if c.upper() == "TWN":
        return code_to_name[490]
    codes = sorted(iso3_codes[c.upper()], key=lambda k: ("(..." in code_to_name[k], k))
    return code_to_name[codes[0]]
countries = [peer_country(c) for c in args["countries"]]
back = dict(zip(countries, args["countries"]))
marks = {}
real_mapped, real_results = M.mapped_baci, M.createresultsdf
cache = {}
def mapped():
    t = time.perf_counter(); df = real_mapped(); marks["mapped"] = time.perf_counter() - t
    marks["loop_start"] = time.perf_counter(); cache["df"] = df
    return df
def results():
    marks["loop_end"] = time.perf_counter()
    return real_results()
M.mapped_baci, M.createresultsdf = mapped, results
t1 = time.perf_counter()
with contextlib.redirect_stdout(sys.stderr):
    res = M.gprs_calc(args["years"], countries, args["materials"])
t_call = time.perf_counter() - t1
M.mapped_baci, M.createresultsdf = real_mapped, real_results
out = pd.DataFrame({
    "material": res["Raw Material"].astype(str),
    "importer": res["Country [Economic Entity]"].map(lambda n: back.get(n, n)),
    "year": res["Year"].astype(int),
    "hhi": res["HHI"].astype(float),
    "import_risk": res["Import Risk"].astype(float),
    "score": res["GeoPolRisk Score"].astype(float),
    "price": res["Price"].astype(float),
    "cf": res["GeoPolRisk Characterization Factor [eq. Kg-Cu/Kg]"].astype(float),
})
if args["components"]:
    num, tot, dom = [], [], []
    with contextlib.redirect_stdout(sys.stderr):
        for name, mat, yr in zip(res["Country [Economic Entity]"], res["Raw Material"],
                                 res["Year"]):
            n_, t_, _ = C.importrisk(mat, int(yr), name, cache["df"])
            dom.append(sum(C.HHI(mat, int(yr), m)[0] for m in D.regionslist[name]))
            num.append(n_); tot.append(t_)
    out["numerator"], out["imports_t"], out["domestic_production_t"] = num, tot, dom
out.to_csv(args["out"], index=False)
real_stdout.write(json.dumps({
    "n_results": len(out),
    "n_requested": len(args["materials"]) * len(countries) * len(args["years"]),
    "import_seconds": t_import, "call_seconds": t_call,
    "mapped_baci_seconds": marks.get("mapped"),
    "loop_seconds": marks.get("loop_end", t1 + t_call) - marks.get("loop_start", t1),
    "peer_version": __import__("importlib.metadata").metadata.version("geopolrisk-py"),
}) + "\n")
"""


@dataclass
class PeerRun:
    """Result of one run of the peer."""

    frame: pd.DataFrame
    timings: dict[str, Any]

    @property
    def loop_rate(self) -> float:
        """Results per second of ``gprs_calc``'s loop (marginal cost per result)."""
        return float(self.timings["n_results"]) / float(self.timings["loop_seconds"])

    @property
    def call_rate(self) -> float:
        """Results per second of the whole ``gprs_calc`` call (incl. its fixed costs)."""
        return float(self.timings["n_results"]) / float(self.timings["call_seconds"])


def find_peer_python(value: str | None = None) -> Path | None:
    """Return the peer's interpreter if it exists.

    ``value``, else ``$CRITMAT_PEER_PYTHON``, else ``peer-venv/bin/python``.
    """
    path = Path(value or os.environ.get("CRITMAT_PEER_PYTHON") or "peer-venv/bin/python")
    return path if path.exists() else None


def peer_material_ids(materials: list[str]) -> list[str]:
    """critmat ids that geopolrisk-py knows, in the order given."""
    return [m for m in materials if m in PEER_MATERIALS]


def run_peer(
    python: Path,
    *,
    materials: list[str],
    importers: list[str],
    years: list[int],
    components: bool = False,
    stderr: Path | None = None,
) -> PeerRun:
    """Run ``gprs_calc`` of geopolrisk-py on critmat ids, ISO-3 codes (or EU27) and years.

    Returns
    -------
    PeerRun
        ``material`` (critmat id), ``importer``, ``year``, ``hhi``, ``import_risk``,
        ``score``, ``price``, ``cf`` (and with ``components`` ``numerator``, ``imports_t``,
        ``domestic_production_t`` from ``core.importrisk``/``core.HHI``, not timed) and the
        timings.
    """
    back = {v: k for k, v in PEER_MATERIALS.items()}
    with tempfile.TemporaryDirectory(prefix="critmat-peer-") as tmp:
        out = Path(tmp) / "peer.csv"
        args = {
            "home": str(Path(tmp) / "home"),
            "materials": [PEER_MATERIALS[m] for m in materials],
            "countries": list(importers),
            "years": list(years),
            "out": str(out),
            "components": components,
        }
        err = stderr.open("w", encoding="utf-8") if stderr else subprocess.DEVNULL
        try:
            proc = subprocess.run(
                [str(python), "-c", _DRIVER, json.dumps(args)],
                check=True,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        finally:
            if stderr:
                err.close()  # type: ignore[union-attr]
        timings = json.loads(proc.stdout.strip().splitlines()[-1])
        frame = pd.read_csv(out)
    frame["material"] = frame["material"].map(back)
    return PeerRun(frame=frame, timings=timings)
