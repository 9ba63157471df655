"""API tokens, roles and the FastAPI dependencies that check them.

Tokens are stored hashed (argon2id, :mod:`argon2` of argon2-cffi) in
``<data dir>/api/tokens.json``; the token itself is shown once, when it is created
(``critmat users add NAME --role ROLE``). A token reads ``cmt_<id>_<secret>``: the id finds
the stored record, the secret is verified against its hash. Writers (add, revoke) follow the
protocol of the user data directory: the folder's ``filelock`` held for the whole
read-modify-write, the new file written under a temporary name, fsynced and renamed over the
old one; readers take no lock.

Roles are ordered: ``viewer`` reads results, ``analyst`` also runs scenarios and
optimisations and imports private data, ``admin`` also manages tokens.

Verifying an argon2 hash costs tens of milliseconds by design, so the server remembers the
tokens it verified (keyed by the SHA-256 of the token, in memory only) while their records
in the token file are unchanged: the file is checked (one ``stat``) on every request and
re-read when it changed, so a revocation takes effect on the next request, and adding a
token costs the other tokens nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.requests import Request

from critmat.errors import (
    AuthenticationError,
    CorruptStateError,
    LockTimeoutError,
    ParameterError,
    PermissionDeniedError,
    StorageError,
    UnknownNameError,
    closest,
)

__all__ = [
    "ROLE_HELP",
    "Role",
    "TokenStore",
    "User",
    "current_user",
    "require",
]

#: Seconds a writer waits for the token store's lock.
LOCK_TIMEOUT_SECONDS = 30.0
_FORMAT = 1
_TOKEN = re.compile(r"cmt_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
#: Concurrent argon2 verifications (each costs 64 MiB of memory by design).
_VERIFYING = threading.BoundedSemaphore(2)


class Role(StrEnum):
    """Roles of API tokens, from least to most allowed."""

    viewer = "viewer"
    analyst = "analyst"
    admin = "admin"

    @property
    def level(self) -> int:
        """0 for viewer, 1 for analyst, 2 for admin."""
        return list(Role).index(self)

    def allows(self, required: Role) -> bool:
        """Whether this role may do what ``required`` may."""
        return self.level >= required.level

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named ``value``.

        Raises
        ------
        critmat.errors.ParameterError
            For another name (with the valid ones).
        """
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            hint = closest(str(value), [r.value for r in cls])
            raise ParameterError(
                f"--role {value!r} is not valid; expected one of viewer, analyst, admin"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
            ) from None


#: What each role may do (the CLI help and docs/api.md).
ROLE_HELP = {
    Role.viewer: "read results (indicators, defence layer, runs, own data)",
    Role.analyst: "viewer + run scenarios and optimisations, import private data",
    Role.admin: "analyst + manage tokens",
}


@dataclass(frozen=True)
class User:
    """The holder of a token.

    Attributes
    ----------
    name
        User name given to ``critmat users add``.
    role
        The token's role.
    team
        Team whose private data the user shares (``None``: the user's own).
    token_id
        Public id of the token (``cmt_<id>_...``).
    """

    name: str
    role: Role
    team: str | None
    token_id: str

    @property
    def scope(self) -> str:
        """Owner of the user's private data: ``team-<team>`` or ``user-<name>``."""
        return f"team-{self.team}" if self.team else f"user-{self.name}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value or ""):
        raise ParameterError(
            f"{what} {value!r} is not valid; expected 1-64 letters, digits or _ . @ - "
            "(starting with a letter or digit)"
        )
    return value


class TokenStore:
    """The API tokens of a data directory (``<data dir>/api/tokens.json``).

    Parameters
    ----------
    data_dir
        The served data directory.
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir).expanduser() / "api"
        self.path = self.root / "tokens.json"
        self._mutex = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: dict[str, dict[str, Any]] = {}
        #: SHA-256 of a verified token -> its user and the record it was verified against
        self._verified: dict[str, tuple[User, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ read

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.path, what="the token store") from None

        def bad(problem: str) -> CorruptStateError:
            return CorruptStateError(
                self.path,
                problem,
                "restore it from a backup, or remove it and create new tokens with "
                "`critmat users add`",
            )

        try:
            data = json.loads(text)
        except ValueError:
            raise bad("not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise bad("not a critmat token store (no 'tokens' list)")
        if data.get("format") != _FORMAT:
            raise bad(f"token store format {data.get('format')!r}; this critmat reads {_FORMAT}")
        out: dict[str, dict[str, Any]] = {}
        for rec in data["tokens"]:
            if not isinstance(rec, dict) or not {"id", "name", "role", "hash"} <= set(rec):
                raise bad("a token record lacks id, name, role or hash")
            out[str(rec["id"])] = rec
        return out

    def records(self) -> dict[str, dict[str, Any]]:
        """Token records by id (re-read when the file changed)."""
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._mutex:
            if stamp != self._stamp or stamp is None:
                self._records = self._read()
                self._stamp = stamp
                # a verified token stays verified while its record is unchanged: adding a
                # token costs the others nothing; a revoked or changed one must verify again
                self._verified = {
                    key: (user, rec)
                    for key, (user, rec) in self._verified.items()
                    if self._records.get(user.token_id) == rec and not rec.get("revoked")
                }
            return self._records

    def entries(self) -> list[dict[str, Any]]:
        """Every token (active and revoked) without its hash, oldest first."""
        rows = [{k: v for k, v in rec.items() if k != "hash"} for rec in self.records().values()]
        return sorted(rows, key=lambda r: (str(r.get("created")), str(r["id"])))

    def authenticate(self, token: str) -> User:
        """The user of ``token``.

        Raises
        ------
        critmat.errors.AuthenticationError
            For a malformed, unknown or revoked token.
        """
        records = self.records()
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._mutex:
            cached = self._verified.get(key)
        if cached is not None:
            return cached[0]
        m = _TOKEN.fullmatch(token.strip())
        if m is None:
            raise AuthenticationError(
                "the bearer token is not a critmat API token (cmt_<id>_<secret>); create one "
                "with `critmat users add NAME --role ROLE`"
            )
        rec = records.get(m.group(1))
        if rec is None or rec.get("revoked"):
            raise AuthenticationError("unknown or revoked API token")
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            # argon2id is memory-hard (64 MiB per verification): at most two at a time
            with _VERIFYING:
                _hasher().verify(rec["hash"], token.strip())
        except (VerificationError, InvalidHashError):
            raise AuthenticationError("unknown or revoked API token") from None
        user = User(
            name=str(rec["name"]),
            role=Role.parse(str(rec["role"])),
            team=rec.get("team") or None,
            token_id=str(rec["id"]),
        )
        with self._mutex:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[key] = (user, dict(rec))
        return user

    # ------------------------------------------------------------------ write

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root, what="the token store") from None
        lock = FileLock(self.root / ".lock", timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise LockTimeoutError(
                self.root / ".lock",
                f"another process has held the token store's lock for {LOCK_TIMEOUT_SECONDS} s",
                "wait for it to finish and try again",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _write(self, records: dict[str, dict[str, Any]]) -> None:
        payload = {"format": _FORMAT, "tokens": list(records.values())}
        tmp = self.path.with_name(f".tokens-{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=1, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError.from_os_error(exc, self.path, what="the token store") from None

    def add(self, name: str, role: str | Role, *, team: str | None = None) -> tuple[str, User]:
        """Create a token for ``name``; return ``(token, user)`` (the token is not stored).

        Raises
        ------
        critmat.errors.ParameterError
            For a bad name, team or role, or a name that already has an active token.
        """
        _check_name(name, "user name")
        if team is not None:
            _check_name(team, "--team")
        the_role = role if isinstance(role, Role) else Role.parse(role)
        token_id = secrets.token_hex(6)
        token = f"cmt_{token_id}_{secrets.token_urlsafe(32)}"
        with self._locked():
            records = self._read()
            if any(r["name"] == name and not r.get("revoked") for r in records.values()):
                raise ParameterError(
                    f"user '{name}' already has an active token; revoke it first "
                    f"(critmat users revoke {name})"
                )
            records[token_id] = {
                "id": token_id,
                "name": name,
                "role": the_role.value,
                "team": team,
                "hash": _hasher().hash(token),
                "created": _now(),
                "revoked": None,
            }
            self._write(records)
        return token, User(name=name, role=the_role, team=team, token_id=token_id)

    def revoke(self, name_or_id: str) -> list[str]:
        """Revoke the active tokens of a user name (or one token id); return their ids.

        Raises
        ------
        critmat.errors.UnknownNameError
            If no active token has that name or id.
        """
        with self._locked():
            records = self._read()
            hit = [
                r
                for r in records.values()
                if not r.get("revoked") and name_or_id in (r["name"], r["id"])
            ]
            if not hit:
                active = sorted({r["name"] for r in records.values() if not r.get("revoked")})
                hint = closest(name_or_id, active)
                if hint:
                    raise UnknownNameError(
                        "user with an active token", name_or_id, suggestions=hint
                    )
                raise ParameterError(
                    f"no active token for '{name_or_id}' (a user name or token id); users with "
                    f"an active token: {', '.join(active) or 'none'} (critmat users list)"
                )
            for r in hit:
                r["revoked"] = _now()
            self._write(records)
        return [str(r["id"]) for r in hit]


# ----------------------------------------------------------------------------- dependencies


def _store_of(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.tokens
    return store


def current_user(request: Request) -> User:
    """FastAPI dependency: the user of the request's ``Authorization: Bearer`` token.

    Raises
    ------
    critmat.errors.AuthenticationError
        Without a bearer token or with an unknown or revoked one (HTTP 401).
    """
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        user = _session_user(request)
        if user is not None:
            request.state.user = user
            return user
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "this endpoint needs an API token: send 'Authorization: Bearer TOKEN' (create one "
            "with `critmat users add NAME --role ROLE`)"
        )
    user = _store_of(request).authenticate(token.strip())
    request.state.user = user
    return user


def _session_user(request: Request) -> User | None:
    """The user of the dashboard's session cookie (``None`` without one).

    A state-changing request authenticated by the cookie must come from this server's own
    pages (:func:`critmat.web.session.cross_site_problem`: the ``Origin`` and the session's
    CSRF token).

    Raises
    ------
    critmat.errors.AuthenticationError
        For a cookie with an unknown or revoked token.
    critmat.errors.PermissionDeniedError
        For a cross-site request (HTTP 403).
    """
    from critmat.web.session import COOKIE, CSRF_HEADER, cross_site_problem, csrf_token

    session = request.cookies.get(COOKIE)
    if not session:
        return None
    user = _store_of(request).authenticate(session)
    problem = cross_site_problem(
        request.method,
        request.headers,
        request.url.scheme,
        request.headers.get("host", ""),
        expected=csrf_token(session),
        given=request.headers.get(CSRF_HEADER),
    )
    if problem is not None:
        raise PermissionDeniedError(problem, role=user.role.value, required=user.role.value)
    return user


def require(role: str | Role) -> Callable[..., User]:
    """FastAPI dependency factory: the current user, who must have at least ``role``.

    Raises
    ------
    critmat.errors.PermissionDeniedError
        (from the dependency) for a token with a lesser role (HTTP 403).
    """
    needed = role if isinstance(role, Role) else Role.parse(role)

    def dependency(request: Request) -> User:
        user = current_user(request)
        if not user.role.allows(needed):
            raise PermissionDeniedError(
                f"this endpoint needs the role {needed.value} or higher; the token of "
                f"'{user.name}' has the role {user.role.value}",
                role=user.role.value,
                required=needed.value,
            )
        return user

    dependency.required_role = needed  # type: ignore[attr-defined]
    return dependency


def as_dict(user: User) -> dict[str, Any]:
    """The user as JSON (``GET /me``)."""
    out = asdict(user)
    out["role"] = user.role.value
    out["scope"] = user.scope
    return out
