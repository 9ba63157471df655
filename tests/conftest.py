"""Shared fixtures: the embedded knowledge base and isolated user data directories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import critmat
from critmat.knowledge_base import KnowledgeBase

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_user_data(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Never touch the real user data folder: point CRITMAT_DATA_DIR at a fresh folder."""
    path = tmp_path_factory.mktemp("critmat-user") / "data"
    monkeypatch.setenv("CRITMAT_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def kb() -> Iterator[KnowledgeBase]:
    """The embedded knowledge base without user data (shared, read-only)."""
    base = critmat.load(user_data=False)
    yield base
    base.close()


@pytest.fixture
def data_dir(_isolated_user_data: Path) -> Path:
    """An empty user data directory for this test."""
    return _isolated_user_data


@pytest.fixture
def user_kb(data_dir: Path) -> Iterator[KnowledgeBase]:
    """A knowledge base over an empty, private user data directory."""
    base = critmat.load(data_dir)
    yield base
    base.close()


def write_csv(path: Path, text: str) -> Path:
    """Write a small CSV file (dedented) and return its path."""
    import textwrap

    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path
