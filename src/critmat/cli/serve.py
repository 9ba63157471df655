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
    ssl_certfile: Annotated[Path | None, opt("ssl_certfile")] = None,
    ssl_keyfile: Annotated[Path | None, opt("ssl_keyfile")] = None,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) over a data directory.

    One process (uvicorn, with the httptools parser when installed): jobs, rate limits,
    verified tokens and stored answers live in it. ``--ssl-certfile`` and ``--ssl-keyfile``
    serve HTTPS (passed to uvicorn).
    """
    import uvicorn

    from critmat.api.app import create_app

    tls = _tls_files(ssl_certfile, ssl_keyfile)
    root = _data_dir(data_dir)
    app = create_app(root, rate_limit=rate_limit, max_upload_mb=max_upload_mb)
    if not app.state.tokens.entries():
        err_console.print(
            f"[yellow]note:[/] no API token yet in {root}; create one with "
            f"`critmat users add NAME --role admin --data-dir {root}`"
        )
    scheme = "https" if tls else "http"
    err_console.print(f"critmat API on {scheme}://{host}:{port} (data {root}); Ctrl+C stops it")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        **tls,  # type: ignore[arg-type]
    )


def _tls_files(certfile: Path | None, keyfile: Path | None) -> dict[str, str]:
    """The ``ssl_certfile`` / ``ssl_keyfile`` keywords of uvicorn, checked (both or neither).

    Raises
    ------
    critmat.errors.ParameterError
        For one without the other, a missing file, or a pair that does not load.
    """
    from critmat.errors import ParameterError

    if certfile is None and keyfile is None:
        return {}
    if certfile is None or keyfile is None:
        given, missing = "--ssl-certfile", "--ssl-keyfile"
        if certfile is None:
            given, missing = missing, given
        raise ParameterError(f"{given} needs {missing} too (the certificate and its key)")
    for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if not Path(path).expanduser().is_file():
            raise ParameterError(f"{flag} {path}: no such file; expected a PEM file")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            str(Path(certfile).expanduser()), str(Path(keyfile).expanduser())
        )
    except (ssl.SSLError, OSError) as exc:
        raise ParameterError(
            f"--ssl-certfile {certfile} / --ssl-keyfile {keyfile} do not load as a PEM "
            f"certificate and its private key ({exc}); expected e.g. the output of "
            "`openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem`"
        ) from None
    return {
        "ssl_certfile": str(Path(certfile).expanduser()),
        "ssl_keyfile": str(Path(keyfile).expanduser()),
    }


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
