"""The dashboard's session cookie and its protection against cross-site requests (CSRF).

The login form checks an API token and keeps it in the session cookie :data:`COOKIE`:
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page makes the
browser send it) and ``Secure`` when the server speaks TLS (``critmat serve --ssl-certfile``).
The API accepts the cookie as well as an ``Authorization: Bearer`` header, so the page
script needs no access to the token.

State-changing requests authenticated by the cookie (every method but GET, HEAD and
OPTIONS) must also pass two checks, either of which stops a forged cross-site request:

* the ``Origin`` header, when the browser sends one (every current browser does on a POST),
  names this server (``scheme://host`` of the request);
* the CSRF token (header :data:`CSRF_HEADER` or form field :data:`CSRF_FIELD`) equals
  :func:`csrf_token` of the session: an HMAC of the session's API token, which another site
  can neither read nor compute (synchroniser token bound to the session, no server state,
  so every server process agrees).

The login form itself (no session yet) uses a double-submit token: a random value in an
``HttpOnly`` cookie scoped to ``/login`` and the same value in the form
(:data:`LOGIN_COOKIE`), plus the origin check. Requests with a bearer header need neither:
a browser never adds that header to a cross-site request by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SAFE_METHODS",
    "cookie_value",
    "cross_site_problem",
    "csrf_token",
    "new_login_token",
    "same_origin",
    "tokens_match",
]

#: Name of the cookie holding the signed-in user's API token.
COOKIE = "critmat_token"
#: Cookie of the login form's double-submit token (path ``/login``).
LOGIN_COOKIE = "critmat_login_csrf"
#: Header the page script sends the CSRF token in.
CSRF_HEADER = "x-csrf-token"
#: Form field of the CSRF token (HTML forms).
CSRF_FIELD = "csrf_token"
#: Methods that change nothing (no CSRF check).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_PURPOSE = b"critmat dashboard csrf v1"


def csrf_token(session: str) -> str:
    """The CSRF token of a session (an HMAC-SHA256 of its API token; hex)."""
    return hmac.new(session.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def new_login_token() -> str:
    """A fresh random token for the login form's double submit."""
    return secrets.token_urlsafe(24)


def tokens_match(given: str | None, expected: str) -> bool:
    """Whether ``given`` equals ``expected`` (constant time; ``None`` never matches)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def cookie_value(header: str | None, name: str = COOKIE) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header, if any."""
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name and value:
            return value
    return None


def same_origin(headers: Mapping[str, str], scheme: str, host: str) -> bool:
    """Whether the request's ``Origin`` (else ``Referer``) is this server, or absent.

    Parameters
    ----------
    headers
        The request headers (lower-case names).
    scheme, host
        The request's scheme (``http``/``https``) and ``Host`` header.
    """
    here = f"{scheme}://{host}".lower()
    origin = headers.get("origin")
    if origin is not None:
        return origin.strip().lower() == here
    referer = headers.get("referer")
    if referer:
        ref = referer.strip().lower()
        return ref == here or ref.startswith(here + "/")
    return True


def cross_site_problem(
    method: str,
    headers: Mapping[str, str],
    scheme: str,
    host: str,
    *,
    expected: str,
    given: str | None,
) -> str | None:
    """Why a cookie-authenticated request is refused as cross-site, or ``None``.

    Parameters
    ----------
    method
        The HTTP method (safe methods are never refused).
    headers, scheme, host
        See :func:`same_origin`.
    expected
        The CSRF token of the session (:func:`csrf_token`) or of the login form.
    given
        The token the request carries (header or form field).
    """
    if method.upper() in SAFE_METHODS:
        return None
    if not same_origin(headers, scheme, host):
        origin = headers.get("origin") or headers.get("referer")
        return (
            f"cross-site request refused: it comes from {origin}, not from this server "
            f"({scheme}://{host}); use the dashboard's own pages, or an API client with an "
            "'Authorization: Bearer TOKEN' header"
        )
    if not tokens_match(given, expected):
        return (
            "cross-site request refused: the CSRF token is missing or wrong (the dashboard's "
            f"pages send it in the {CSRF_HEADER!r} header or the {CSRF_FIELD!r} form field); "
            "reload the page, or use an API client with an 'Authorization: Bearer TOKEN' "
            "header"
        )
    return None
