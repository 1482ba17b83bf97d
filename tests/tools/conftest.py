"""Fixtures for the checks in tools/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.project import copy_project


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throw-away copy of the project: a test adds a bad import to it and runs the real
    contracts, without touching the working tree."""
    return copy_project(tmp_path / "project")
