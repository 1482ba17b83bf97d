"""tools/check.sh (`make check`): runs every check and names each one that fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VENV = Path(sys.executable).parent.parent


def check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project / "tools" / "check.sh")],
        env={**os.environ, "VENV": str(VENV), "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_runs_every_check_and_names_the_ones_that_failed(project_copy: Path) -> None:
    gtin = project_copy / "esl_controller" / "catalogue" / "gtin.py"
    # Badly formatted, and a typing error in the core; lint and layers stay clean.
    gtin.write_text(
        gtin.read_text(encoding="utf-8") + "\n\ndef _broken( ) -> int:\n    return 'x'\n",
        encoding="utf-8",
    )
    result = check(project_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("check failed: format types")
