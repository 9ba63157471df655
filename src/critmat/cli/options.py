"""CLI options built from the parameter definitions of :mod:`critmat.params`.

A command declares an option as ``materials: Materials = None`` (a shared alias below) or
``importers: Annotated[str | None, opt("importers", default="EU27")] = "EU27"``: the flags,
help text, choices, bounds, paths and the ``[default: ...]`` text come from the
:class:`~critmat.params.ParamDef`, and a test checks that every option's type and default
agree with it (so the REST API's query models, built from the same definitions, agree too).

Flags show no ``<bool>`` placeholder and say their default (``[default: off]``); a default
that is ``None`` shows what it means (``[default: all]``); values are named by the
parameter (``--samples SAMPLES``, ``--out FILE``), not by a Python type. Command help is
re-flowed: a docstring's line breaks inside a paragraph do not break the printed sentence.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from critmat.params import ParamDef, param

__all__ = [
    "App",
    "Command",
    "DataDir",
    "Detail",
    "Exporters",
    "Force",
    "Format",
    "Group",
    "GroupBy",
    "Importers",
    "Materials",
    "NoUserData",
    "Out",
    "Stage",
    "Years",
    "opt",
    "param_of",
    "running_params",
]

_ATTR = "critmat_param"

#: The parsed options of the command running now (set by :meth:`Command.invoke`).
_RUNNING: ContextVar[dict[str, Any] | None] = ContextVar("critmat_running_params", default=None)


def running_params() -> dict[str, Any]:
    """The options of the running command (``{}`` outside one), e.g. ``force``, ``data_dir``.

    The output writer and the error boundary read ``--force`` and ``--data-dir`` here, so a
    command only declares the options.
    """
    return dict(_RUNNING.get() or {})


def opt(name: str, **overrides: Any) -> Any:
    """A ``typer.Option`` built from the definition ``name`` (see :func:`critmat.params.param`).

    Parameters
    ----------
    name
        Parameter name.
    **overrides
        Per-command changes of the definition (``default``, ``choices``, ``default_text``,
        ``help``, ``flags``).
    """
    p = param(name, **overrides)
    kwargs: dict[str, Any] = {"help": p.description}
    if p.annotation is bool:
        kwargs["metavar"] = ""  # a flag takes no value: no <bool> placeholder
        kwargs["show_default"] = False
        flag = p.cli_flags[0]
        if "/" in flag:  # --save/--no-save: name the side that is the default
            on, off = flag.split("/", 1)
            kwargs["help"] += f" [default: {on if p.default else off}]"
        else:
            kwargs["help"] += f" [default: {'on' if p.default else 'off'}]"
    else:
        kwargs["metavar"] = _metavar(p)
    if p.annotation is not bool and p.default is None:
        kwargs["show_default"] = False
        if p.default_text:
            kwargs["help"] += f" [default: {p.default_text}]"
    if p.envvar:
        kwargs["envvar"] = p.envvar
        kwargs["show_envvar"] = True
    if p.minimum is not None and p.annotation in (int, int | None):
        kwargs["min"] = int(p.minimum)
    if p.maximum is not None and p.annotation in (int, int | None):
        kwargs["max"] = int(p.maximum)
    if p.path == "file":
        kwargs["dir_okay"] = False
    elif p.path == "existing file":
        kwargs.update(dir_okay=False, exists=True)
    elif p.path == "dir":
        kwargs["file_okay"] = False
    info = typer.Option(*p.cli_flags, **kwargs)
    setattr(info, _ATTR, p)
    return info


def _metavar(p: ParamDef) -> str:
    if p.path in ("file", "existing file"):
        return "FILE"
    if p.path == "dir":
        return "DIR"
    return str(p.extra.get("metavar") or p.name.upper())


def _reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph of a help text (lists and no-wrap blocks kept)."""
    if not text:
        return text
    out = []
    for para in inspect.cleandoc(text).split("\n\n"):
        lines = para.splitlines()
        keep = para.startswith("\b") or any(
            ln.lstrip().startswith(("- ", "* ", "$ ")) for ln in lines
        )
        out.append(para if keep else " ".join(ln.strip() for ln in lines))
    return "\n\n".join(out)


def param_of(info: Any) -> ParamDef | None:
    """The definition an option was built from (``None`` for a plain ``typer.Option``)."""
    p = getattr(info, _ATTR, None)
    return p if isinstance(p, ParamDef) else None


def _quiet(option: Any) -> Any:
    if option is not None and getattr(option, "metavar", None) is None:
        option.metavar = ""  # --help is a flag: no <bool> placeholder
    return option


class Command(TyperCommand):
    """A critmat command: its ``--help`` flag shows no ``<bool>`` placeholder either."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = _reflow(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: Any) -> Any:
        """The help option, without a value placeholder."""
        return _quiet(super().get_help_option(ctx))

    def invoke(self, ctx: Any) -> Any:
        """Run the command with its options visible to :func:`running_params`."""
        token = _RUNNING.set(dict(ctx.params))
        try:
            return super().invoke(ctx)
        finally:
            _RUNNING.reset(token)


class Group(TyperGroup):
    """A critmat command group (same help display as :class:`Command`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = _reflow(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: Any) -> Any:
        """The help option, without a value placeholder."""
        return _quiet(super().get_help_option(ctx))

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """List the sub-commands with their whole one-line help, wrapped (never cut with ...)."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class App(typer.Typer):
    """``typer.Typer`` whose commands and groups are :class:`Command` and :class:`Group`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        # Plain (click) help and usage errors instead of Rich panels: Typer's Rich help
        # renderer costs about 0.1-0.15 s per `--help` to import, which would miss the
        # 0.3 s target for `critmat --help` (issue 11); command output still uses Rich.
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Any:
        """Register a command (class :class:`Command` unless ``cls`` is given)."""
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)


Materials = Annotated[str | None, opt("materials")]
Importers = Annotated[str | None, opt("importers")]
Exporters = Annotated[str | None, opt("exporters")]
Years = Annotated[str | None, opt("years")]
Stage = Annotated[str | None, opt("stage")]
GroupBy = Annotated[list[str] | None, opt("groupby")]
Detail = Annotated[bool, opt("detail")]
Format = Annotated[str | None, opt("format")]
Out = Annotated[Path | None, opt("out")]
Force = Annotated[bool, opt("force")]
DataDir = Annotated[Path | None, opt("data_dir")]
NoUserData = Annotated[bool, opt("no_user_data")]
