"""The dashboard: HTML pages served by the API's FastAPI app (``critmat serve``, ``/``).

:func:`mount` adds the pages (Jinja2 templates, :mod:`critmat.web.pages`) and ``/static``
(the style sheet, the page script, plotly.js from the installed ``plotly`` package and the
world topology of the maps: nothing is loaded from a CDN, the dashboard works offline) to
an application. Pages need a signed-in user: the login form takes an API token
(``critmat users add NAME --role ROLE``), checks it and keeps it in the session cookie
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` over TLS: :mod:`critmat.web.session`); the
API accepts that cookie too, so the page script calls the job endpoints without reading the
token, sending the session's CSRF token with every state-changing request. Viewers read
every page; starting a scenario needs the analyst role (the API answers 403 otherwise, and
the page says so).
"""

from __future__ import annotations

from typing import Any

__all__ = ["mount"]


def mount(app: Any, **kwargs: Any) -> None:
    """Add the dashboard to ``app`` (:func:`critmat.web.pages.mount`; imported on use)."""
    from critmat.web.pages import mount as _mount

    _mount(app, **kwargs)
