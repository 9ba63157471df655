"""One parameter definition per concept: the CLI options and the API models agree with it."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from critmat.cli.app import app
from critmat.cli.options import opt, param_of
from critmat.errors import ParameterError
from critmat.params import PARAMS, param, parse_pairs, pydantic_fields, query_model

runner = CliRunner()


def _commands(typer_app: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for info in typer_app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        yield f"{prefix}{name}", info.callback
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance, f"{prefix}{group.name} ")


COMMANDS = dict(_commands(app))


def _options(callback: Any) -> Iterator[tuple[str, Any, Any, Any]]:
    hints = typing.get_type_hints(callback, include_extras=True)
    for name, p in inspect.signature(callback).parameters.items():
        hint = hints[name]
        for meta in getattr(hint, "__metadata__", ()):
            yield name, typing.get_args(hint)[0], p.default, meta


def test_commands_are_found() -> None:
    assert {"geopolrisk", "assess", "defence exposure", "scenario run", "data import"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_agrees_with_its_definition(command: str) -> None:
    callback = COMMANDS[command]
    checked = 0
    for name, annotation, default, info in _options(callback):
        p = param_of(info)
        if p is None:
            continue  # arguments (file, table name, run id) are positional, not ParamDefs
        checked += 1
        assert p.name == name or p.flags, f"{command} --{name}: built from {p.name}"
        assert annotation == p.annotation, (
            f"{command} --{name}: type {annotation} != {p.annotation}"
        )
        assert default == p.default, f"{command} --{name}: default {default!r} != {p.default!r}"
        assert info.help.replace("\\[", "[").startswith(p.description), f"{command} --{name}"
    options = [i for _n, _a, _d, i in _options(callback) if type(i).__name__ == "OptionInfo"]
    assert checked == len(options), f"{command}: an option is declared outside critmat.params"


def test_every_definition_builds_an_option_and_a_field() -> None:
    fields = pydantic_fields(list(PARAMS))
    for name, p in PARAMS.items():
        info = opt(name)
        annotation, field = fields[name]
        assert annotation == p.annotation
        assert field.default == p.default, name
        assert field.description == p.description, name
        assert info.help.replace("\\[", "[").startswith(field.description), name


def test_query_model_is_the_api_face_of_the_same_definitions() -> None:
    model = query_model(
        "DependencyQuery",
        ["materials", "importers", "years", "stage"],
        importers={"default": "EU27"},
    )
    schema = model.model_json_schema()["properties"]
    assert schema["importers"]["default"] == "EU27"
    assert schema["materials"]["description"] == PARAMS["materials"].description
    q = model(materials="gallium", years="2020-2022")
    assert q.model_dump() == {
        "materials": "gallium",
        "importers": "EU27",
        "years": "2020-2022",
        "stage": None,
    }
    gpr = query_model("GeoPolRiskOptions", ["missing_governance", "min_coverage"])
    assert gpr.model_json_schema()["properties"]["missing_governance"]["enum"] == [
        "nan",
        "fill",
        "exclude",
    ]
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        gpr(min_coverage=1.5)  # the same bounds as the CLI
    with pytest.raises(ValidationError):
        model(colour="red")  # unknown query parameters are refused


def test_definitions_check_and_parse() -> None:
    assert param("mix").check("global") == "global"
    with pytest.raises(ParameterError, match="did you mean 'global'"):
        param("mix").check("globl")
    with pytest.raises(ParameterError, match=">= 0"):
        param("months").check(-1)
    assert param("defence_share").check(["gallium=0.05"]) == {"gallium": 0.05}
    assert parse_pairs({"Ga": 1}) == {"Ga": 1.0}
    with pytest.raises(ParameterError, match="no parameter definition 'material'"):
        param("material")


@pytest.mark.parametrize("command", ["geopolrisk", "defence exposure", "scenario run", "assess"])
def test_help_shows_defaults_and_no_bool_placeholders(command: str) -> None:
    r = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())  # help is wrapped to 80 columns
    assert "<bool>" not in text
    assert "[default: " in text
    if command == "geopolrisk":
        assert "[default: all]" in text and "[default: wgi_pv_geopolrisk]" in text
        assert "One of: nan, fill, exclude" in text


def test_click_sees_the_same_defaults() -> None:
    cmd = get_command(app).commands["dependency"]  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in cmd.params}
    assert defaults["importers"] == "EU27" and defaults["materials"] is None
