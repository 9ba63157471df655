"""The dashboard: HTML pages served by the API's FastAPI app (``critmat serve``, ``/``).

:func:`mount` adds the pages (Jinja2 templates, :mod:`critmat.web.pages`) and ``/static``
(the style sheet, the page script, plotly.js from the installed ``plotly`` package and the
world topology of the maps: nothing is loaded from a CDN, the dashboard works offline) to
an application. Pages need a signed-in user: the login form takes an API token
(``critmat users add NAME --role ROLE``), checks it and keeps it in a cookie of this site
(``SameSite=Strict``); the page script sends it as ``Authorization: Bearer`` to the API's
job endpoints. Viewers read every page; starting a scenario needs the analyst role (the
API answers 403 otherwise, and the page says so).
"""

from __future__ import annotations

from critmat.web.pages import mount

__all__ = ["mount"]
