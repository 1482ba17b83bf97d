"""Where the project lives, and a copy of it that a test may break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def copy_project(destination: Path) -> Path:
    """pyproject.toml, the package and tools/ (no caches) copied into `destination`."""
    destination.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", destination / "pyproject.toml")
    for folder in ("esl_controller", "tools"):
        shutil.copytree(
            PROJECT_ROOT / folder,
            destination / folder,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return destination
