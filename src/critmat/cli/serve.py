"""`critmat serve` (the REST API on uvicorn) and `critmat users add|list|revoke` (API tokens)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmat.cli.common import console, emit, err_console, reports_errors
from critmat.cli.options import App, DataDir, Force, Format, Out, opt

__all__ = ["register", "users"]

users = App(
    help="API tokens of `critmat serve`: add, list, revoke (stored hashed in the data dir).",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="User name (letters, digits, _ . @ -).")]


def _data_dir(data_dir: Path | None) -> Path:
    from critmat.data.userdata import default_data_dir

    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


@reports_errors
def serve(
    host: Annotated[str, opt("host")] = "127.0.0.1",
    port: Annotated[int, opt("port")] = 8000,
    data_dir: DataDir = None,
    rate_limit: Annotated[float, opt("rate_limit")] = 50.0,
    max_upload_mb: Annotated[float, opt("max_upload_mb")] = 25.0,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) over a data directory."""
    import uvicorn

    from critmat.api.app import create_app

    root = _data_dir(data_dir)
    app = create_app(root, rate_limit=rate_limit, max_upload_mb=max_upload_mb)
    if not app.state.tokens.entries():
        err_console.print(
            f"[yellow]note:[/] no API token yet in {root}; create one with "
            f"`critmat users add NAME --role admin --data-dir {root}`"
        )
    err_console.print(f"critmat API on http://{host}:{port} (data {root}); Ctrl+C stops it")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@users.command("add")
@reports_errors
def add(
    name: NameArg,
    role: Annotated[str, opt("role")] = "viewer",
    team: Annotated[str | None, opt("team")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a token for NAME; it is printed once, as the last line (store it safely)."""
    from critmat.api.auth import TokenStore

    store = TokenStore(_data_dir(data_dir))
    token, user = store.add(name, role, team=team)
    err_console.print(
        f"created token {user.token_id} for '{user.name}' (role {user.role.value}, data scope "
        f"{user.scope}) in {store.path}; it is shown only now:"
    )
    console.print(token, soft_wrap=True, highlight=False)


@users.command("list")
@reports_errors
def list_users(
    fmt: Format = None, out: Out = None, force: Force = False, data_dir: DataDir = None
) -> None:
    """List the tokens (names, roles, teams, dates; never the tokens or their hashes)."""
    import pandas as pd

    from critmat.api.auth import TokenStore

    rows = TokenStore(_data_dir(data_dir)).entries()
    cols = ["name", "role", "team", "id", "created", "revoked"]
    frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    emit(frame, fmt, out, title="API tokens")


@users.command("revoke")
@reports_errors
def revoke(
    name: Annotated[str, typer.Argument(help="User name or token id.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke the active tokens of a user (or one token id); effective on the next request."""
    from critmat.api.auth import TokenStore

    ids = TokenStore(_data_dir(data_dir)).revoke(name)
    console.print(f"revoked {len(ids)} token{'s' if len(ids) != 1 else ''}: {', '.join(ids)}")


def register(app: typer.Typer) -> None:
    """Add `critmat serve` and `critmat users` to the main app."""
    app.command("serve")(serve)
    app.add_typer(users, name="users")
