"""`critmat defence ...`: defence systems, exposure, capability at risk, criticality.

Every command runs on your imported ``bom``/``build_rates`` tables, on files passed with
``--bom``/``--build-rates`` (validated like an import, nothing written), or else on the
cited reference data (CRS 2013 rare earths per F-35, DDG-51 and SSN-774 and published US
build rates). Those options make one :class:`~critmat.defence.bom.DemandSource`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from critmat.cli.common import emit, is_screen, open_kb, reports_errors, shown
from critmat.cli.options import App, DataDir, Force, Format, Materials, NoUserData, Out, Stage, opt
from critmat.params import param

if TYPE_CHECKING:
    from critmat.defence.bom import DemandSource

__all__ = ["app", "register"]

app = App(
    help="Defence layer: systems, uses, exposure, capability at risk, "
    "criticality, energy transition.",
    no_args_is_help=True,
)

Bom = Annotated[Path | None, opt("bom")]
BuildRates = Annotated[Path | None, opt("build_rates")]
Which = Annotated[str, opt("which")]
DefaultIntensity = Annotated[float | None, opt("default_intensity_kg")]
DefaultBuildRate = Annotated[float | None, opt("default_build_rate")]
Pairs = list[str] | None


def _source(
    bom: Path | None,
    build_rates: Path | None,
    which: str = "auto",
    default_intensity_kg: float | None = None,
    default_build_rate: float | None = None,
) -> DemandSource:
    from critmat.defence.bom import demand_source  # pydantic: only when a command runs

    return demand_source(
        {
            "bom": bom,
            "build_rates": build_rates,
            "which": which,
            "default_intensity_kg": default_intensity_kg,
            "default_build_rate": default_build_rate,
        }
    )


def _proxies(values: Pairs) -> dict[str, str] | None:
    """``MATERIAL=PROXY`` items (``--proxies``) as a mapping; ``None`` keeps the defaults."""
    if not values:
        return None
    out: dict[str, str] = {}
    for item in values:
        for part in str(item).split(","):
            key, sep, val = part.partition("=")
            if not sep or not key.strip() or not val.strip():
                from critmat.errors import ParameterError

                raise ParameterError(
                    f"--proxies entry '{part}' is not MATERIAL=PROXY (e.g. rare_earths=neodymium)"
                )
            out[key.strip()] = val.strip()
    return out


def _pairs(name: str, values: Pairs) -> dict[str, float] | None:
    out: dict[str, float] | None = param(name).check(values)
    return out


@app.command("systems")
@reports_errors
def systems_cmd(
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Defence systems named by the cited sources, with published build rates."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.systems()
    cols = ["system", "system_class", "country", "units_per_year", "rate_kind", "materials"]
    emit(
        shown(frame, fmt, out, [*cols, "n_uses"]),
        fmt,
        out,
        title="defence systems (defence_systems)",
    )


@app.command("uses")
@reports_errors
def uses_cmd(
    materials: Materials = None,
    system_classes: Annotated[str | None, opt("system_classes")] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Cited uses: material -> application -> component -> system, with quantities."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.uses(materials=materials, system_classes=system_classes)
    cols = [
        "use_id",
        "material",
        "application",
        "component",
        "system_class",
        "system",
        "quantity",
        "unit",
        "kind",
        "substitutability",
        "secondary_source",
    ]
    emit(shown(frame, fmt, out, cols), fmt, out, title="defence uses (defence_uses)", max_rows=100)


@app.command("demand")
@reports_errors
def demand_cmd(
    materials: Materials = None,
    by: Annotated[str, opt("by")] = "system",
    bom: Bom = None,
    build_rates: BuildRates = None,
    which: Which = "auto",
    default_intensity_kg: DefaultIntensity = None,
    default_build_rate: DefaultBuildRate = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Annual material demand from bills of materials x build rates (t per year)."""
    kb = open_kb(data_dir, no_user_data)
    src = _source(bom, build_rates, which, default_intensity_kg, default_build_rate)
    frame = kb.defence.demand(materials=materials, by=by, demand=src)
    emit(frame, fmt, out, title=f"defence demand by {by}")


@app.command("exposure")
@reports_errors
def exposure_cmd(
    materials: Materials = None,
    stage: Stage = None,
    mix: Annotated[
        str,
        opt(
            "mix",
            default="by_producer",
            choices=("by_producer", "eu_sourcing", "global", "imports"),
            help="Supply mix: by_producer (EU sourcing shares for EU-built systems, global "
            "shares for systems built elsewhere, flagged), eu_sourcing, global, or imports "
            "(BACI extra-EU imports).",
        ),
    ] = "by_producer",
    adversaries: Annotated[str | None, opt("adversaries", default="CHN,RUS")] = "CHN,RUS",
    by: Annotated[str, opt("by")] = "system",
    detail: Annotated[
        bool, opt("detail", help="One row per supplier country instead of the summary.")
    ] = False,
    years: Annotated[
        str | None,
        opt(
            "years",
            help="The year of the BACI import shares (--mix imports).",
            default_text="latest",
        ),
    ] = None,
    bom: Bom = None,
    build_rates: BuildRates = None,
    which: Which = "auto",
    default_intensity_kg: DefaultIntensity = None,
    default_build_rate: DefaultBuildRate = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
    supply_vintage: Annotated[str, opt("supply_vintage")] = "newest",
) -> None:
    """Defence demand exposed to supplier countries, China and adversaries, by stage."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.exposure(
        materials=materials,
        stage=stage,
        mix=mix,
        adversaries=adversaries,
        by=by,
        detail=detail,
        years=years,
        demand=_source(bom, build_rates, which, default_intensity_kg, default_build_rate),
        supply_vintage=supply_vintage,
    )
    cols = [
        "programme",
        "system",
        "material",
        "stage",
        "country",
        "share",
        "exposed_t",
        "demand_t_per_year",
        "china_share",
        "adversary_share",
        "top_supplier",
        "top_supplier_share",
        "mix_used",
        "mix_status",
        "supply_vintage",
        "proxy",
        "kind",
        "rests_on_assumption",
    ]
    title = f"defence exposure by {by} ({mix})"
    emit(shown(frame, fmt, out, cols), fmt, out, title=title, max_rows=100)


@app.command("capability-at-risk")
@reports_errors
def capability_cmd(
    exporters: Annotated[
        str | None,
        opt(
            "exporters",
            default="CHN",
            help="Exporters (countries or groups) whose deliveries are cut.",
        ),
    ] = "CHN",
    materials: Annotated[
        str | None,
        opt("materials", help="Materials the cut applies to.", default_text="all in the BOMs"),
    ] = None,
    cut: Annotated[float, opt("cut")] = 1.0,
    months: Annotated[int, opt("months")] = 12,
    stage: Annotated[str | None, opt("capability_stage")] = None,
    mix: Annotated[str, opt("capability_mix")] = "by_producer",
    stock_months: Annotated[
        float, opt("stock_months", help="Defence stock in months of defence demand.")
    ] = 0.0,
    defence_share: Annotated[Pairs, opt("defence_share")] = None,
    eu_demand_t: Annotated[Pairs, opt("eu_demand_t")] = None,
    supplier_share: Annotated[Pairs, opt("supplier_share")] = None,
    allocation: Annotated[str, opt("allocation")] = "defence_first",
    proxies: Annotated[Pairs, opt("proxies")] = None,
    substitution_lead_months: Annotated[int, opt("substitution_lead_months")] = 0,
    monthly: Annotated[bool, opt("monthly")] = False,
    bom: Bom = None,
    build_rates: BuildRates = None,
    which: Which = "auto",
    default_intensity_kg: DefaultIntensity = None,
    default_build_rate: DefaultBuildRate = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Systems that cannot be built in a supply cut: fixed recipe vs mitigated.

    Mitigated = substitution (BOM substitutable_share) + defence-first supply; defence-first
    needs --defence-share MAT=share or --eu-demand MAT=t per year.
    """
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.capability_at_risk(
        exporters=exporters,
        materials=materials,
        cut=cut,
        months=months,
        stage=stage,
        mix=mix,
        stock_months=stock_months,
        defence_share=_pairs("defence_share", defence_share),
        eu_demand_t=_pairs("eu_demand_t", eu_demand_t),
        supplier_share=_pairs("supplier_share", supplier_share),
        allocation=allocation,
        proxies=_proxies(proxies),
        substitution_lead_months=substitution_lead_months,
        monthly=monthly,
        demand=_source(bom, build_rates, which, default_intensity_kg, default_build_rate),
    )
    cols = [
        "system",
        "month",
        "units_per_month",
        "planned_units",
        "producer_country",
        "not_built_pro_rata",
        "not_built_defence_first",
        "not_built_mitigated",
        "share_lost_fixed",
        "share_lost_mitigated",
        "limiting_material_fixed",
        "defence_first",
        "kind",
        "rests_on_assumption",
    ]
    title = (
        f"capability at risk: {exporters} cuts {cut:.0%} for {months} months "
        f"(mitigated = {allocation}; mix {mix})"
    )
    emit(shown(frame, fmt, out, cols), fmt, out, title=title, max_rows=120)
    if "assumptions" in frame.columns and is_screen(fmt, out):
        from critmat.cli.common import console

        for sysname, text in zip(frame["system"], frame["assumptions"], strict=True):
            console.print(f"[dim]{sysname}: {text}[/dim]")


_DEFENCE_AXES = ("eu_sr", "published_sr", "hhi", "china_processing", "geopolrisk")


@app.command("criticality")
@reports_errors
def criticality_cmd(
    materials: Materials = None,
    supply_risk: Annotated[str, opt("supply_risk", choices=_DEFENCE_AXES)] = "eu_sr",
    scheme: Annotated[str, opt("scheme")] = "eu",
    risk_threshold: Annotated[float | None, opt("risk_threshold")] = None,
    basis: Annotated[str, opt("basis")] = "auto",
    importers: Annotated[
        str | None,
        opt("importers", default="EU27", help="The importer unit of the GeoPolRisk column."),
    ] = "EU27",
    years: Annotated[
        str | None, opt("years", help="The year of the GeoPolRisk column.", default_text="latest")
    ] = None,
    rank_by: Annotated[str, opt("rank_by")] = "score",
    bom: Bom = None,
    build_rates: BuildRates = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Defence criticality: defence importance x supply risk, ranked, on the matrix."""
    kb = open_kb(data_dir, no_user_data)
    th = {"supply_risk": risk_threshold} if risk_threshold is not None else None
    frame = kb.defence.criticality(
        materials=materials,
        supply_risk=supply_risk,
        scheme=scheme,
        thresholds=th,
        importers=importers,
        years=years,
        basis=basis,
        rank_by=rank_by,
        demand=_source(bom, build_rates),
    )
    cols = [
        "rank",
        "material",
        "defence_importance",
        "class_weights",
        "supply_risk_score",
        "category",
        "eu_sr",
        "china_processing",
        "hhi",
        "geopolrisk",
        "proxy",
        "nato_2024",
        "crma_strategic",
        "crma_critical",
    ]
    title = f"defence criticality ({supply_risk}, {scheme})"
    emit(shown(frame, fmt, out, cols), fmt, out, title=title, max_rows=120)


@app.command("compare-lists")
@reports_errors
def compare_cmd(
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Where critmat's defence criticality, NATO 2024 and the CRMA lists disagree, and why."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.compare_lists()
    cols = ["material", "nato_2024", "crma_critical", "critmat_category", "agree", "reason"]
    title = "NATO 2024 / CRMA / critmat defence criticality"
    emit(shown(frame, fmt, out, cols), fmt, out, title=title, max_rows=120)


_ENERGY = [
    "material",
    "defence_demand_t",
    "eu_demand_t",
    "world_demand_t",
    "defence_share_eu",
    "defence_share_world",
    "energy_transition_share",
    "magnets_share",
    "aerospace_defence_share",
    "end_use_proxy",
    "published_defence_share_upper",
    "kind",
]


@app.command("energy")
@reports_errors
def energy_cmd(
    materials: Annotated[
        str | None, opt("materials", default_text="the materials defence and energy share")
    ] = None,
    eu_demand_t: Annotated[Pairs, opt("eu_demand_t")] = None,
    world_demand_t: Annotated[Pairs, opt("world_demand_t")] = None,
    years: Annotated[
        str | None,
        opt("years", default="2018-2022", help="Years averaged for EU and world demand."),
    ] = "2018-2022",
    shortfall: Annotated[float | None, opt("shortfall")] = None,
    rule: Annotated[str, opt("rule")] = "defence_first",
    defence_share: Annotated[Pairs, opt("defence_share")] = None,
    bom: Bom = None,
    build_rates: BuildRates = None,
    which: Which = "auto",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Defence vs energy transition: demand shares and who is served first in a shortfall."""
    kb = open_kb(data_dir, no_user_data)
    src = _source(bom, build_rates, which)
    eu = _pairs("eu_demand_t", eu_demand_t)
    world = _pairs("world_demand_t", world_demand_t)
    if shortfall is None:
        frame = kb.defence.energy(
            materials=materials, eu_demand_t=eu, world_demand_t=world, years=years, demand=src
        )
        emit(
            shown(frame, fmt, out, _ENERGY),
            fmt,
            out,
            title="defence and the energy transition",
            max_rows=120,
        )
        return
    frame = kb.defence.shortfall(
        shortfall=shortfall,
        rule=rule,
        defence_share=_pairs("defence_share", defence_share),
        materials=materials,
        eu_demand_t=eu,
        world_demand_t=world,
        years=years,
        demand=src,
    )
    emit(frame, fmt, out, title=f"shortfall {shortfall:.0%} of EU supply, {rule}", max_rows=120)


def register(main: typer.Typer) -> None:
    """Add the `defence` sub-app to the main app."""
    main.add_typer(app, name="defence")
