"""Where the browser tests and the PDF tests find Chromium, and what they do without it.

Without Chromium the tests are skipped with the reason (how to install it); under
``CI=true`` a missing browser is a failure, not a skip (``.ci/run`` installs it).
"""

from __future__ import annotations

import os

import pytest

from critmat.errors import RendererUnavailableError


def chromium_or_skip() -> str:
    """Path of Chromium, or skip (fail under CI=true) with how to install it."""
    from critmat.report.pdf import find_chromium

    try:
        path = find_chromium()
        import playwright.sync_api  # noqa: F401
    except (RendererUnavailableError, ImportError) as exc:
        reason = f"Chromium/Playwright not available: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: .ci/run must install chromium)")
        pytest.skip(reason)
    return path
