"""REST API of critmat (``critmat serve``): FastAPI on uvicorn, over the same functions as the CLI.

* :mod:`critmat.api.app`: :func:`~critmat.api.app.create_app` builds the application.
* :mod:`critmat.api.auth`: API tokens (stored hashed with argon2), roles ``viewer``,
  ``analyst``, ``admin`` and the FastAPI dependencies :func:`~critmat.api.auth.current_user`
  and :func:`~critmat.api.auth.require`.
* :mod:`critmat.api.endpoints`: the indicator and defence endpoints, built from the
  accessor functions and the parameter definitions of :mod:`critmat.params`.
* :mod:`critmat.api.jobs`: scenario runs as asynchronous jobs (the job manager).
* :mod:`critmat.api.decisions`: the decisions (``kb.optimize``) and the policy back-test
  as jobs, the sourcing what-if and the toolkit comparison.
* :mod:`critmat.api.scopes`: private user data per owner or team.

Importing this package imports neither FastAPI nor uvicorn (only :mod:`critmat.api.app` does).
"""

from __future__ import annotations

__all__: list[str] = []
