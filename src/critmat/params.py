"""The shared parameter vocabulary: one definition per concept, for every face.

Every indicator, accessor, CLI command and API route takes the same selections with the same
meaning (``materials=, importers=, exporters=, countries=, years=, stage=, groupby=``;
``None`` or ``"all"`` means no restriction), and every option a face offers is declared once
here as a :class:`ParamDef`: its name, Python type, help text, default, CLI flags, choices,
and the parser that turns face input (text) into the library's value. The CLI builds its
options from these (:func:`critmat.cli.options.opt`), the REST API its query models
(:func:`query_model`), so a new face costs no new declarations.

Examples
--------
>>> parse_years("2018-2020")
[2018, 2019, 2020]
>>> parse_years([2022, 2020])
[2020, 2022]
>>> split_list("gallium, germanium")
['gallium', 'germanium']
>>> param("importers").flags
('--importers', '-i')
>>> param("importers", default="EU27").default
'EU27'
>>> Q = query_model("GeoPolRiskQuery", ["materials", "importers", "years"])
>>> Q(materials="gallium").model_dump()
{'materials': 'gallium', 'importers': None, 'years': None}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from critmat.errors import ParameterError, closest

__all__ = [
    "OUTPUT_FORMATS",
    "PARAMS",
    "GroupBy",
    "ParamDef",
    "ParameterError",
    "Selection",
    "is_all",
    "param",
    "parse_groupby",
    "parse_pairs",
    "parse_years",
    "pydantic_fields",
    "query_model",
    "split_list",
]

#: Output formats of every frame-printing command (and of file outputs).
OUTPUT_FORMATS: tuple[str, ...] = ("table", "csv", "json", "parquet", "xlsx")

Selection = str | Iterable[str] | None
#: User-defined country groups: ``{"AUKUS": ["AUS", "GBR", "USA"]}``, ``"AUKUS=AUS,GBR,USA"``
#: or a list of such texts (CLI ``--groupby``, repeatable).
GroupBy = Mapping[str, Sequence[str]] | Iterable[str] | str | None


def is_all(value: object) -> bool:
    """Return True for ``None``, ``"all"``, ``"*"`` or an empty selection."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("", "all", "*")
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) == 0 or (len(value) == 1 and is_all(next(iter(value))))
    return False


def split_list(value: Selection) -> list[str] | None:
    """Turn ``"a,b"`` or ``["a", "b,c"]`` into ``["a", "b", "c"]``; ``None`` for all."""
    if is_all(value):
        return None
    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    return out or None


def parse_years(value: int | str | Iterable[int | str] | None) -> list[int] | None:
    """Parse a year selection: ``2022``, ``"2018-2022"``, ``"2018:2022"``, a list, or all.

    Raises
    ------
    ParameterError
        For text that is not a year or a range, or a range that runs backwards.
    """
    if is_all(value):
        return None
    items: list[int | str] = (
        [value] if isinstance(value, int | str) else list(value)  # type: ignore[arg-type]
    )
    years: set[int] = set()
    for item in items:
        for part in str(item).split(","):
            text = part.strip()
            if not text:
                continue
            m = re.fullmatch(r"(\d{4})\s*(?:-|:|\.\.)\s*(\d{4})", text)
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                if b < a:
                    raise ParameterError(f"year range '{text}' runs backwards; write {b}-{a}")
                years.update(range(a, b + 1))
            elif re.fullmatch(r"\d{4}", text):
                years.add(int(text))
            else:
                raise ParameterError(
                    f"'{text}' is not a year; expected e.g. 2022, 2018-2022 or 2018,2020"
                )
    return sorted(years) or None


def parse_groupby(groupby: GroupBy) -> dict[str, list[str]]:
    """Turn ``{"A": [...]}``, ``"A=X,Y"`` or ``["A=X,Y", "B=Z"]`` into ``{name: members}``.

    Raises
    ------
    critmat.errors.ParameterError
        For text without ``NAME=member,member``.

    Examples
    --------
    >>> parse_groupby("AUKUS=AUS,GBR,USA")
    {'AUKUS': ['AUS', 'GBR', 'USA']}
    """
    if groupby is None:
        return {}
    if isinstance(groupby, Mapping):
        return {str(k): [str(m) for m in v] for k, v in groupby.items()}
    items = [groupby] if isinstance(groupby, str) else list(groupby)
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, members = str(item).partition("=")
        if not sep or not name.strip() or not members.strip():
            raise ParameterError(
                f"groupby entry '{item}' is not NAME=member,member (e.g. AUKUS=AUS,GBR,USA)"
            )
        out[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    return out


def parse_pairs(
    value: Iterable[str] | str | Mapping[str, float] | None, *, option: str = "value"
) -> dict[str, float] | None:
    """Parse ``MATERIAL=number`` items (repeatable, or comma-separated) into a mapping.

    Raises
    ------
    critmat.errors.ParameterError
        For an item that is not ``NAME=number``.

    Examples
    --------
    >>> parse_pairs(["gallium=0.05,germanium=0.1"])
    {'gallium': 0.05, 'germanium': 0.1}
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()} or None
    items = [value] if isinstance(value, str) else list(value)
    out: dict[str, float] = {}
    for item in (x for v in items for x in str(v).split(",") if x.strip()):
        name, sep, num = item.partition("=")
        try:
            number = float(num)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or math.isnan(number):
            raise ParameterError(
                f"{option} entry '{item}' is not MATERIAL=number (e.g. {option} gallium=0.05)"
            )
        out[name.strip()] = number
    return out or None


# ----------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class ParamDef:
    """One parameter of critmat's vocabulary, for every face.

    Attributes
    ----------
    name
        Python keyword (``materials``); the CLI flag is ``--materials`` unless ``flags``.
    annotation
        Python type of the value a face receives (``str | None``, ``int``, ``bool``, ...).
    help
        One-sentence help, shared by the CLI help, the API field description and the docs.
    default
        Default value (``None``: no restriction, or the library's own default).
    flags
        CLI flags (default ``--<name with dashes>``).
    choices
        Allowed values (listed in the help; checked by :meth:`check`).
    default_text
        What the default means when it is ``None`` (shown as ``[default: ...]``).
    parse
        Turns the face's value (text) into the library's (e.g. :func:`parse_pairs`);
        ``None``: passed as is (the library parses selections itself).
    envvar
        Environment variable the CLI reads.
    minimum, maximum
        Bounds of a number.
    path
        ``"file"`` or ``"dir"`` for paths (``"existing file"`` must exist).
    """

    name: str
    annotation: Any
    help: str
    default: Any = None
    flags: tuple[str, ...] = ()
    choices: tuple[str, ...] | None = None
    default_text: str | None = None
    parse: Callable[[Any], Any] | None = None
    envvar: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cli_flags(self) -> tuple[str, ...]:
        """The CLI flags of the option."""
        return self.flags or (f"--{self.name.replace('_', '-')}",)

    @property
    def description(self) -> str:
        """Help text with the choices (the CLI help and the API description)."""
        text = self.help
        if self.choices:
            text += f" One of: {', '.join(self.choices)}."
        return text

    def with_(self, **changes: Any) -> ParamDef:
        """A copy with some attributes changed (e.g. another default for one command)."""
        return replace(self, **changes)

    def check(self, value: Any) -> Any:
        """Parse and check a face's value; return the library's value.

        Raises
        ------
        critmat.errors.ParameterError
            For a value outside the choices (with the closest ones) or the bounds.
        """
        if self.choices and value is not None and str(value) not in self.choices:
            hint = closest(str(value), list(self.choices))
            raise ParameterError(
                f"{self.cli_flags[0]} {value!r} is not valid; expected one of "
                f"{', '.join(self.choices)}" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise ParameterError(f"{self.cli_flags[0]} must be >= {self.minimum}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise ParameterError(f"{self.cli_flags[0]} must be <= {self.maximum}, got {value}")
        return self.parse(value) if self.parse is not None and value is not None else value


def _p(name: str, annotation: Any, help: str, default: Any = None, **kw: Any) -> ParamDef:  # noqa: A002
    return ParamDef(name, annotation, help, default, **kw)


_DEMAND = "Defence demand: "

_DEFS = [
    # -------------------------------------------------------------- selections
    _p(
        "materials",
        str | None,
        "Materials: comma-separated ids, names, symbols or aliases (e.g. gallium,Ge,"
        "'Rare Earths (REO)'), or 'all'.",
        flags=("--materials", "-m"),
        default_text="all",
    ),
    _p(
        "importers",
        str | None,
        "Importers: ISO-3 codes or names, groups EU27, NATO, OECD, G7 or a --groupby name "
        "(a group is one economic unit), or 'all'.",
        flags=("--importers", "-i"),
        default_text="all",
    ),
    _p(
        "exporters",
        str | None,
        "Exporters / supplier countries (groups expand to their members), or 'all'.",
        flags=("--exporters", "-e"),
        default_text="all",
    ),
    _p(
        "countries",
        str | None,
        "Countries: ISO-3 codes, names or groups (EU27, NATO, OECD, G7), or 'all'.",
        flags=("--countries", "-c"),
        default_text="all",
    ),
    _p(
        "years",
        str | None,
        "Years: 2022, 2018-2022 or 2018,2020; 'all'.",
        flags=("--years", "-y"),
        default_text="all years with data",
    ),
    _p(
        "stage",
        str | None,
        "Supply-chain stage: extraction or processing (E, P, mining, refining).",
        flags=("--stage", "-s"),
        default_text="both",
    ),
    _p(
        "groupby",
        list[str] | None,
        "Define a country group NAME=ISO3,ISO3,... (repeatable), usable in "
        "--importers/--exporters.",
        flags=("--groupby", "-g"),
        default_text="none",
    ),
    _p(
        "adversaries",
        str | None,
        "Countries or groups whose combined share is reported as adversary_share, e.g. CHN,RUS.",
        default_text="none",
    ),
    # -------------------------------------------------------------- output and data
    _p(
        "format",
        str | None,
        "Output format.",
        flags=("--format", "-f"),
        choices=OUTPUT_FORMATS,
        default_text="from --out's suffix, else table",
    ),
    _p(
        "out",
        Path | None,
        "Write the result to this file (with a <file>.provenance.json sidecar).",
        flags=("--out", "-o"),
        path="file",
        default_text="print",
    ),
    _p(
        "data_dir",
        Path | None,
        "User data directory whose imported tables overlay the embedded dataset.",
        envvar="CRITMAT_DATA_DIR",
        path="dir",
        default_text="the platform user data folder",
    ),
    _p("no_user_data", bool, "Use the embedded dataset only.", False),
    _p("detail", bool, "Add the detail columns (see the command's help).", False),
    # -------------------------------------------------------------- indicators
    _p(
        "source",
        str | None,
        "Supply data: wmd (World Mining Data by year, extraction), eu_crm_2023 (EU 2023 "
        "global shares as published, extraction and processing) or supply_shares (the "
        "global mix of --supply-vintage, newest per material and stage).",
        choices=("wmd", "eu_crm_2023", "supply_shares"),
        default_text="wmd and supply_shares",
    ),
    _p(
        "governance_vintage",
        str,
        "Governance release (governance table vintage): wgi_pv_geopolrisk, wgi_2023, wgi_2024 "
        "or a user vintage.",
        "wgi_pv_geopolrisk",
    ),
    _p(
        "missing_governance",
        str,
        "Exporters without a governance value: nan gives NaN (status missing_governance); "
        "fill uses --fill-value (status governance_filled); exclude leaves such imports out "
        "when they are at most 1 - --min-coverage of the tonnage (status governance_partial).",
        "nan",
        choices=("nan", "fill", "exclude"),
    ),
    _p(
        "min_coverage",
        float,
        "Least share of import tonnage with a governance value, with --missing-governance exclude.",
        0.99,
        minimum=0.0,
        maximum=1.0,
    ),
    _p(
        "fill_value",
        float,
        "Instability g for exporters without governance value with --missing-governance fill.",
        0.5,
        minimum=0.0,
        maximum=1.0,
    ),
    _p(
        "intra_region",
        str,
        "A group's imports from its members: zero_risk counts them with g = 0; exclude "
        "leaves them out as domestic.",
        "zero_risk",
        choices=("zero_risk", "exclude"),
    ),
    _p(
        "price_basis",
        str,
        "Unit price: reported_quantity (value / quantity of flows with a quantity) or "
        "all_value (all values / reported quantities, as geopolrisk-py).",
        "reported_quantity",
        choices=("reported_quantity", "all_value"),
    ),
    _p(
        "peer_compatible",
        bool,
        "Follow geopolrisk-py 2.0.1 where it has a choice: --missing-governance fill "
        "--fill-value 0.5 --price-basis all_value.",
        False,
    ),
    _p(
        "year",
        int,
        "EU assessment: 2023 is computed; 2011, 2014, 2017, 2020 show the published values.",
        2023,
    ),
    _p(
        "wgi_years",
        str,
        "WGI data year or range averaged, e.g. 2017 (best fit to the published values) or "
        "2016-2020.",
        "2017",
    ),
    _p(
        "wgi_measure",
        str,
        "Governance measure: auto, mean (six-dimension WGI mean) or pv (political stability).",
        "auto",
        choices=("auto", "mean", "pv"),
    ),
    _p(
        "corrections",
        str,
        "Input corrections: none, all, or names (kaolin_eol, titanium_metal_extraction, "
        "mix_labels, titanium_metal_end_use).",
        "none",
    ),
    _p(
        "scheme",
        str,
        "Matrix: eu (EI >= 2.8 and SR >= 1) or doe (levels 1-4 per axis).",
        "eu",
        choices=("eu", "doe"),
    ),
    _p("importance", str, "Importance axis.", "eu_ei", choices=("eu_ei", "published_ei")),
    _p("supply_risk", str, "Supply-risk axis.", "eu_sr", choices=("eu_sr", "published_sr")),
    # -------------------------------------------------------------- defence
    _p(
        "bom",
        Path | None,
        _DEMAND + "bill-of-materials file (CSV/XLSX/Parquet: system, component, material, "
        "kg_per_unit, kind, source), validated like an import, nothing written.",
        path="existing file",
        default_text="your bom table, else the cited reference data",
    ),
    _p(
        "build_rates",
        Path | None,
        _DEMAND + "build-rate file (programme, system, units_per_year, priority, kind, source).",
        path="existing file",
        default_text="your build_rates table, else the published rates",
    ),
    _p(
        "which",
        str,
        _DEMAND + "auto (your tables if they have rows, else the reference data), user, "
        "reference or both.",
        "auto",
        choices=("auto", "user", "reference", "both"),
    ),
    _p(
        "default_intensity_kg",
        float | None,
        _DEMAND + "placeholder kg per unit for cited uses without a published quantity "
        "(reference data; flagged assumption).",
        flags=("--default-intensity",),
        minimum=0.0,
        default_text="none",
    ),
    _p(
        "default_build_rate",
        float | None,
        _DEMAND + "placeholder units per year for named systems without a published rate "
        "(reference data; flagged assumption).",
        minimum=0.0,
        default_text="none",
    ),
    _p(
        "by",
        str,
        "Level of the rows.",
        "system",
        choices=("system", "programme", "material"),
    ),
    _p(
        "mix",
        str,
        "Supply mix: eu_sourcing (EU 2023 EU sourcing shares, else global), global, or "
        "imports (BACI extra-EU imports).",
        "eu_sourcing",
        choices=("eu_sourcing", "global", "imports"),
    ),
    _p(
        "system_classes",
        str | None,
        "System classes, comma-separated (e.g. 'guided missile,radar').",
        default_text="all",
    ),
    _p("cut", float, "Share of the exporters' deliveries lost (0-1).", 1.0, minimum=0, maximum=1),
    _p("months", int, "Duration of the cut in months.", 12, minimum=0),
    _p(
        "stock_months",
        float,
        "Stock at the start in months of demand (released as needed, no cap).",
        0.0,
        minimum=0,
    ),
    _p(
        "defence_share",
        list[str] | None,
        "Defence share of EU demand, MATERIAL=share (repeatable).",
        parse=lambda v: parse_pairs(v, option="--defence-share"),
        default_text="none",
    ),
    _p(
        "eu_demand_t",
        list[str] | None,
        "EU demand in t per year, MATERIAL=t (repeatable).",
        flags=("--eu-demand",),
        parse=lambda v: parse_pairs(v, option="--eu-demand"),
        default_text="from the data",
    ),
    _p(
        "world_demand_t",
        list[str] | None,
        "World demand in t per year, MATERIAL=t (repeatable).",
        flags=("--world-demand",),
        parse=lambda v: parse_pairs(v, option="--world-demand"),
        default_text="from the data",
    ),
    _p(
        "substitution_lead_months",
        int,
        "Months before substitutes take effect.",
        0,
        flags=("--substitution-lead",),
        minimum=0,
    ),
    _p("monthly", bool, "One row per system and month.", False),
    _p(
        "risk_threshold",
        float | None,
        "Supply-risk threshold.",
        default_text="1 for SR, 0.25 HHI, 0.65 China share",
    ),
    _p(
        "basis",
        str,
        "Defence importance breadth from the cited uses, your bom, or auto (= the cited uses).",
        "auto",
        choices=("auto", "uses", "bom"),
    ),
    _p(
        "shortfall",
        float | None,
        "Share of EU supply lost: show who is served first under --rule.",
        minimum=0,
        maximum=1,
        default_text="no allocation",
    ),
    _p(
        "rule",
        str,
        "Who is served first in a shortfall.",
        "defence_first",
        choices=("defence_first", "energy_first", "pro_rata"),
    ),
    # -------------------------------------------------------------- defence (issue 12)
    _p(
        "allocation",
        str,
        "Rule of the mitigated case in a supply cut: defence_first (defence demand is served "
        "before the rest of the economy) or pro_rata; both are always shown side by side.",
        "defence_first",
        choices=("defence_first", "pro_rata"),
    ),
    _p(
        "supplier_share",
        list[str] | None,
        "Your share of the cut exporters in a material's supply, MATERIAL=share "
        "(repeatable; e.g. gallium=0.3 for GaAs wafers, where no share is published).",
        parse=lambda v: parse_pairs(v, option="--supplier-share"),
        default_text="the data's",
    ),
    _p(
        "capability_stage",
        str | None,
        "Stage of the supplier shares: extraction, processing, or intermediate (rare-earth "
        "magnets, aerospace-qualified titanium sponge, GaAs substrates: intermediate_supply).",
        flags=("--stage", "-s"),
        default_text="the bottleneck of extraction and processing",
    ),
    _p(
        "capability_mix",
        str,
        "Supply mix: by_producer (EU sourcing shares for EU-built systems, global shares for "
        "systems built elsewhere, flagged), eu_sourcing or global.",
        "by_producer",
        flags=("--mix",),
        choices=("by_producer", "eu_sourcing", "global"),
    ),
    _p(
        "rank_by",
        str,
        "Order within a matrix category: score ((DI / 2.8) x (risk / threshold)) or importance "
        "(defence importance first).",
        "score",
        choices=("score", "importance"),
    ),
    _p(
        "proxies",
        list[str] | None,
        "Proxy materials whose supply data stand in, MATERIAL=PROXY (repeatable).",
        default_text="rare_earths=neodymium",
    ),
    # -------------------------------------------------------------- scenarios and assess
    _p(
        "samples",
        int | None,
        "Monte Carlo draws.",
        flags=("--samples", "-n"),
        minimum=1,
        default_text="the spec's, 1000",
    ),
    _p("seed", int | None, "Random seed.", minimum=0, default_text="the spec's, 0"),
    _p(
        "cvar_level",
        float | None,
        "Level alpha of VaR and CVaR (CVaR: mean of the worst 1 - alpha of the scenarios).",
        minimum=0.5,
        maximum=0.999,
        default_text="the spec's, 0.95",
    ),
    _p(
        "dask",
        str | None,
        "Run on Dask: 'local' (a LocalCluster) or tcp://host:port of a running scheduler.",
        default_text="in this process",
    ),
    _p(
        "workers",
        int | None,
        "Workers of --dask local.",
        minimum=1,
        default_text="dask's choice",
    ),
    _p(
        "horizon_months",
        int | None,
        "Months simulated.",
        flags=("--horizon",),
        minimum=1,
        maximum=1200,
        default_text="the spec's",
    ),
    _p(
        "preset",
        str | None,
        "A preset scenario (critmat scenario presets).",
        flags=("--preset", "-p"),
        default_text="none",
    ),
    _p(
        "spec",
        Path | None,
        "Scenario or ensemble file (.yaml, .json).",
        path="file",
        default_text="none",
    ),
    _p(
        "result_table",
        str,
        "Result table of a run.",
        "summary",
        flags=("--table", "-t"),
        choices=(
            "summary",
            "monthly",
            "outcomes",
            "draws",
            "systems",
            "systems_outcomes",
            "baseline",
        ),
    ),
    _p(
        "html",
        Path | None,
        "Also write an HTML report (fan charts, stock-out table).",
        path="file",
        default_text="none",
    ),
    _p("save", bool, "Store the run in the user data folder.", True, flags=("--save/--no-save",)),
    _p("quiet", bool, "No progress bar.", False, flags=("--quiet", "-q")),
    _p(
        "table",
        str | None,
        "Target table (see `critmat data list`).",
        flags=("--table", "-t"),
        default_text="required",
    ),
    _p(
        "mode",
        str,
        "merge: upsert into your earlier rows of the table; replace: the file becomes your "
        "whole table.",
        "merge",
        choices=("merge", "replace"),
    ),
    _p(
        "combine",
        str,
        "upsert: your rows replace embedded rows with the same key; replace: hide the "
        "embedded table.",
        "upsert",
        choices=("upsert", "replace"),
    ),
    _p("sheet", str | None, "Worksheet of an XLSX file.", default_text="the first"),
    _p("note", str, "Note stored in the import log.", ""),
    _p(
        "import_checks",
        str,
        "Invariant checks after the merge (shares sum to 1, ...): warn: import and print the "
        "violations; strict: a violation aborts the import; off.",
        "warn",
        flags=("--checks",),
        choices=("warn", "strict", "off"),
    ),
    _p(
        "problems_report",
        Path | None,
        "Write every problem to this JSON file if validation fails.",
        flags=("--report",),
        path="file",
        default_text="none",
    ),
    _p(
        "whatif_samples",
        int,
        "Monte Carlo draws per preset for the 'what if' section (0 to skip).",
        300,
        minimum=0,
    ),
    _p(
        "report",
        Path | None,
        "Write the report: FILE.html (one self-contained page with charts and sources) or "
        "FILE.pdf (printed by Chromium, with FILE.html beside it); its data goes to FILE.json.",
        path="file",
        default_text="none",
    ),
    # -------------------------------------------------------------- hardening (issue 10)
    _p(
        "force",
        bool,
        "Replace files given to --out, --report or --html that exist already.",
        False,
    ),
    # ------------------------------------------------- kept results (issue 11)
    _p(
        "clear",
        bool,
        "Remove every kept result.",
        False,
    ),
    # ---------------------------------------------------------------- web (issue 15)
    _p(
        "previous",
        Path | None,
        "The data file (FILE.json) of an earlier report: the executive summary says what "
        "changed since.",
        path="file",
        default_text="none",
    ),
    # -------------------------------------------------------------- REST API (critmat.api)
    _p("page", int, "Page of the result (1 is the first).", 1, minimum=1),
    _p(
        "page_size",
        int,
        "Rows per page (at most 10000).",
        1000,
        minimum=1,
        maximum=10000,
    ),
    _p(
        "role",
        str,
        "Role of the token: viewer (read results), analyst (also run scenarios and "
        "optimisations, import private data) or admin (also manage tokens).",
        "viewer",
        choices=("viewer", "analyst", "admin"),
    ),
    _p(
        "team",
        str | None,
        "Team whose private data the token shares (uploads are visible to the team only).",
        default_text="the user's own",
    ),
    _p("host", str, "Interface to listen on (127.0.0.1: this machine only).", "127.0.0.1"),
    _p("port", int, "TCP port.", 8000, minimum=1, maximum=65535),
    _p(
        "ssl_certfile",
        Path | None,
        "TLS certificate (PEM, with its chain) to serve HTTPS with, together with "
        "--ssl-keyfile; the dashboard's session cookie is then Secure.",
        default_text="plain HTTP",
    ),
    _p(
        "ssl_keyfile",
        Path | None,
        "Private key (PEM) of --ssl-certfile.",
        default_text="none",
    ),
    _p(
        "rate_limit",
        float,
        "Requests per second allowed per token (a burst of twice as many); 0: no limit.",
        50.0,
        minimum=0,
    ),
    _p(
        "optimize_table",
        str | None,
        "Result table of an optimisation job: stockpile: allocation (per material: stock, "
        "cost, rank), shadow_prices (budget, purchase caps, cover), parameters (the completed "
        "material parameters), baseline (demand and price per tonne); frontier: points, "
        "entry, materials; compare: summary, by_material; sourcing: allocation, "
        "shadow_prices; reshoring: projects; levers: levers.",
        flags=("--table",),
        choices=(
            "allocation",
            "shadow_prices",
            "parameters",
            "baseline",
            "points",
            "entry",
            "materials",
            "summary",
            "by_material",
            "projects",
            "levers",
        ),
        default_text="the job's first table",
    ),
    _p(
        "max_upload_mb",
        float,
        "Largest request body accepted (MB).",
        25.0,
        minimum=0.001,
    ),
]

# ---------------------------------------------- decisions (issue 13: critmat.optimize)
_DEFS += [
    _p(
        "scenarios",
        Path | None,
        "Explicit scenario table (CSV/Parquet: scenario, probability, material, month, "
        "gap_t in tonnes per month before stock release).",
        path="existing file",
        default_text="none",
    ),
    _p(
        "run",
        str | None,
        "A stored scenario run (id, prefix, name or 'latest'), simulated again.",
        default_text="none",
    ),
    _p(
        "parameters",
        Path | None,
        "Material parameter table (material, price_eur_t, holding_cost_eur_t_yr, "
        "shortage_cost_eur_t or priority_weight, max_purchase_t, release_cap_t_month, "
        "shelf_life_months, annual_demand_t); empty prices and demands come from the "
        "knowledge base.",
        path="existing file",
        default_text="knowledge-base prices and demand, default costs",
    ),
    _p(
        "objective",
        str,
        "expected: holding + expected shortage cost; cvar: holding + CVaR at --alpha of "
        "the scenario shortage cost.",
        "expected",
        choices=("expected", "cvar"),
    ),
    _p(
        "alpha",
        float,
        "CVaR level (mean of the worst 1 - alpha).",
        0.95,
        minimum=0.5,
        maximum=0.999,
    ),
    _p(
        "budget_eur",
        float | None,
        "Purchase budget in EUR (e.g. 5e8).",
        flags=("--budget",),
        minimum=0,
        default_text="unconstrained",
    ),
    _p(
        "min_cover_months",
        float | None,
        "Minimum stock of every material in months of annual demand.",
        flags=("--min-months",),
        minimum=0,
        default_text="none",
    ),
    _p(
        "decision_horizon_months",
        int | None,
        "Months of the decision (a table is cut or padded; a scenario is simulated so long).",
        flags=("--horizon-months",),
        minimum=1,
        maximum=600,
        default_text="the table's or the spec's",
    ),
    _p(
        "decision_samples",
        int | None,
        "Monte Carlo draws of a preset, spec or run (a decision needs fewer than a fan chart).",
        flags=("--samples", "-n"),
        minimum=1,
        default_text="200",
    ),
    _p(
        "price_year",
        int | None,
        "Year of the knowledge-base prices and of the euros.",
        minimum=1999,
        default_text="the latest year USGS reports as actual",
    ),
    _p(
        "usd_per_eur",
        float | None,
        "USD per EUR for the knowledge-base prices.",
        minimum=0.01,
        default_text="ECB annual average of the price year (fx_rates)",
    ),
    _p(
        "missing_probability",
        str,
        "Scenario probabilities summing to less than 1: error, or no_gap (the rest is one "
        "scenario without gaps).",
        "error",
        choices=("error", "no_gap"),
    ),
    _p("points", int, "Budgets on the frontier.", 11, minimum=2, maximum=200),
    _p(
        "eu_reserve_months",
        str,
        "EU reserve sizes to compare, months of demand (comma-separated).",
        "3,6",
    ),
    _p(
        "candidates",
        Path | None,
        "Candidate suppliers (CSV/Parquet: material, stage, country, capacity_t, "
        "unit_cost_eur_t; optional lead_time_months, ramp_months, disruption_prob).",
        path="existing file",
        default_text="today's suppliers and partners from the data",
    ),
    _p(
        "one_material",
        str | None,
        "One material (id, name, symbol or alias).",
        flags=("--material",),
        default_text="required",
    ),
    _p(
        "demand_t",
        float | None,
        "EU demand to source, tonnes per year.",
        minimum=0,
        default_text="the physical baseline's",
    ),
    _p(
        "max_single_country",
        float,
        "Largest share of EU demand from one third country (CRMA Art. 5: 0.65; 1 = no cap).",
        0.65,
        minimum=0.01,
        maximum=1,
    ),
    _p(
        "max_group",
        list[str] | None,
        "Cap on a group or country, NAME=SHARE (repeatable; e.g. CHN=0.5, "
        "adversary=0.2 with --group adversary=CHN,RUS).",
        default_text="none",
    ),
    _p(
        "groups",
        list[str] | None,
        "Define a group NAME=ISO3,ISO3 for --max-group (repeatable).",
        flags=("--group",),
        default_text="EU27, NATO, OECD, G7 are known",
    ),
    _p(
        "sourcing_objective",
        str,
        "least_cost, or risk_adjusted (cost + disruption probability x --loss).",
        "least_cost",
        flags=("--objective",),
        choices=("least_cost", "risk_adjusted"),
    ),
    _p(
        "loss_eur_t",
        float | None,
        "Loss per tonne not delivered (risk_adjusted).",
        flags=("--loss",),
        minimum=0,
        default_text="none",
    ),
    _p(
        "proposed_mix",
        list[str] | None,
        "Proposed mix, COUNTRY=SHARE (repeatable).",
        flags=("--share",),
        default_text="required",
    ),
    # -------------------------------------------------------------- policy (issue 14)
    _p(
        "actors",
        str | None,
        "Acting actors of the policy record (EU, US, Japan, China, NATO, WTO, partner "
        "countries), comma-separated.",
        default_text="all (compare: EU, US, Japan, China, NATO)",
    ),
    _p(
        "types",
        str | None,
        "Instrument types: list, law, strategy, stockpile, export_control, wto_dispute, "
        "partnership, funding, subsidy, report, dialogue, trade_policy, industry_action.",
        default_text="all",
    ),
    _p("any_actor", bool, "Match --actors against every actor of an event, partners too.", False),
    _p(
        "timeline_html",
        Path | None,
        "Write the timeline (one lane per actor, markers by instrument type) and the toolkit "
        "heat map to this self-contained HTML file.",
        flags=("--html",),
        path="file",
        default_text="none",
    ),
    _p(
        "events",
        str | None,
        "Export-control event ids (export_controls.event_id, e.g. CN-2023-23).",
        default_text="all",
    ),
    _p(
        "with_presets",
        bool,
        "Run each event's scenario preset and compare its prediction with the trade record.",
        True,
        flags=("--presets/--no-presets",),
    ),
    _p(
        "backtest_samples",
        int,
        "Monte Carlo draws of each preset run.",
        500,
        flags=("--samples",),
        minimum=10,
    ),
    _p(
        "benchmark_set",
        str,
        "CRMA benchmark version: final (Regulation (EU) 2024/1252) or 2023-proposal "
        "(recycling 15 %).",
        "final",
        choices=("final", "2023-proposal"),
    ),
    _p(
        "consumption",
        Path | None,
        "Your EU consumption and production figures (material, stage, year, "
        "eu_consumption_t, eu_output_t, largest_third_country, largest_third_country_t, "
        "source): replace the proxies (basis tonnes).",
        path="existing file",
        default_text="none (EU 2023 study proxies)",
    ),
    _p(
        "projects",
        Path | None,
        "Your projects (CSV/Parquet: name, material, capacity_t_yr; optional stage, country, "
        "capex_eur, opex_premium_eur_t, construction_months, permitting_months, "
        "ramp_months, environmental_flag, status).",
        path="existing file",
        default_text="none",
    ),
    _p(
        "include_crma",
        bool,
        "Include the CRMA strategic projects in the EU with a published capacity.",
        True,
        flags=("--crma/--no-crma",),
    ),
    _p(
        "exclude_environmental",
        bool,
        "Leave out projects with an environmental constraint flag.",
        False,
    ),
    _p(
        "levers",
        Path | None,
        "Your levers (CSV/Parquet: kind, name, material and the lever's fields).",
        path="existing file",
        default_text="critmat's stated defaults",
    ),
    # -------------------------------------------------------------- supply vintages (issue 12)
    _p(
        "supply_vintage",
        str,
        "Vintage of the supply shares (supply_shares table): 'newest' (per material, stage "
        "and mix the newest available: USGS MCS 2026 where it covers the material, else the "
        "EU 2023 study), eu_crm_2023, usgs_mcs2026, iea_gcmo_2025 or a user vintage.",
        "newest",
    ),
]

#: Every parameter definition by name.
PARAMS: dict[str, ParamDef] = {p.name: p for p in _DEFS}


def param(name: str, **overrides: Any) -> ParamDef:
    """The definition of ``name``, with per-command ``overrides`` (default, choices, ...).

    Raises
    ------
    critmat.errors.ParameterError
        For an unknown name (with the closest names).
    """
    if name not in PARAMS:
        hint = closest(name, list(PARAMS))
        raise ParameterError(
            f"no parameter definition '{name}'"
            + (f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else "")
        )
    p = PARAMS[name]
    return p.with_(**overrides) if overrides else p


def pydantic_fields(
    names: Iterable[str | ParamDef], **overrides: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """``{name: (type, FieldInfo)}`` of parameter definitions, for ``pydantic.create_model``.

    Parameters
    ----------
    names
        Parameter names (or definitions, e.g. ``param("importers", default="EU27")``).
    **overrides
        ``name={"default": ...}``: per-model changes, as for :func:`param`.
    """
    from pydantic import Field

    out: dict[str, tuple[Any, Any]] = {}
    for item in names:
        p = item if isinstance(item, ParamDef) else param(item, **dict(overrides.get(item, {})))
        kw: dict[str, Any] = {"description": p.description}
        if p.minimum is not None:
            kw["ge"] = p.minimum
        if p.maximum is not None:
            kw["le"] = p.maximum
        if p.choices:
            kw["json_schema_extra"] = {"enum": list(p.choices)}
        out[p.name] = (p.annotation, Field(default=p.default, **kw))
    return out


def query_model(
    model_name: str, names: Iterable[str | ParamDef], **overrides: Mapping[str, Any]
) -> Any:
    """A pydantic model whose fields are the given parameters (the API's query model).

    Field types, defaults and descriptions are the parameter definitions', so the CLI and
    the API cannot drift apart.
    """
    from pydantic import ConfigDict, create_model

    fields = pydantic_fields(names, **overrides)
    return create_model(  # type: ignore[call-overload]
        model_name, __config__=ConfigDict(extra="forbid"), **fields
    )
