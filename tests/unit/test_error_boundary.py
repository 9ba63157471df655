"""Every CLI command goes through the one error boundary and the one writer (issue 10)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from critmat.cli.app import app
from critmat.cli.common import handle_exception
from critmat.errors import AmbiguousNameError, NoResultError, ParameterError, StorageError


def _commands(typer_app: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for info in typer_app.registered_commands:
        yield prefix + (info.name or info.callback.__name__), info.callback
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance, f"{prefix}{group.name} ")


COMMANDS = dict(_commands(app))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_the_boundary_and_force(name: str) -> None:
    callback = COMMANDS[name]
    assert hasattr(callback, "__wrapped__"), f"{name}: not decorated with @reports_errors"
    params = inspect.signature(callback).parameters
    writes = {"out", "report", "html"} & set(params)
    if writes:
        assert "force" in params, f"{name} writes {writes} but has no --force"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ParameterError("bad"), 2),
        (AmbiguousNameError("country", "Congo", candidates=["COG", "COD"]), 2),
        (NoResultError("nothing"), 3),
        (StorageError("/x", "no space left on device", "free space"), 1),
        (OSError(28, "No space left on device", "/x"), 1),
        (RuntimeError("bug"), 1),
        (KeyboardInterrupt(), 130),
    ],
)
def test_exit_codes(
    exc: BaseException, code: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert handle_exception(exc).exit_code == code
