"""The import-linter contracts in pyproject.toml: kept by the code as it is, and each one
broken by the import it exists to refuse (checked on a copy of the package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.project import PROJECT_ROOT

LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def lint_imports(project: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on `project` (its pyproject.toml, its copy of the package)."""
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", *selected],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_line(project: Path, module: str, line: str) -> None:
    path = project / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_every_contract_is_kept_by_the_code_as_it_is() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("esl_controller.catalogue.gtin", "import sqlalchemy", "core"),
        ("esl_controller.labels.render", "import paho.mqtt.client", "core"),
        ("esl_controller.signage.targeting", "from esl_controller import db", "core"),
        ("esl_controller.ads.chain", "from esl_controller.web import auth", "core"),
        ("esl_controller.esl.link", "from esl_controller.esl import refresh", "core"),
        ("esl_controller.esl.link", "from esl_controller.esl import dispatcher", "core"),
        ("esl_controller.labels.planes", "from esl_controller.esl.drivers import mqtt", "core"),
        ("esl_controller.labels.hardware", "from esl_controller import worker", "layers"),
        ("esl_controller.models.store", "from esl_controller.ads import ingest", "layers"),
        ("esl_controller.worker", "from esl_controller.web import auth", "layers"),
        ("esl_controller.catalogue.stock", "from esl_controller.labels import qr", "acyclic"),
        ("esl_controller.labels.fonts", "from esl_controller.labels import render", "acyclic"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    project_copy: Path, module: str, bad_import: str, contract: str
) -> None:
    assert lint_imports(project_copy, contract).returncode == 0
    add_line(project_copy, module, bad_import)
    result = lint_imports(project_copy, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout


def test_a_new_top_level_module_must_be_given_a_layer(project_copy: Path) -> None:
    (project_copy / "esl_controller" / "loyalty.py").write_text('"""Not in any layer yet."""\n')
    result = lint_imports(project_copy, "layers")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "esl_controller.loyalty" in " ".join(result.stdout.split())


def test_drivers_of_one_seam_may_not_import_each_other(project_copy: Path) -> None:
    oepl = project_copy / "esl_controller" / "esl" / "drivers" / "oepl"
    oepl.mkdir(exist_ok=True)
    (oepl / "__init__.py").write_text("")
    (oepl / "link.py").write_text("from esl_controller.esl import link\n")  # the seam: fine
    assert lint_imports(project_copy, "drivers", "core").returncode == 0

    (oepl / "link.py").write_text("from esl_controller.esl.drivers.mqtt import protocol\n")
    result = lint_imports(project_copy, "drivers")
    assert result.returncode == 1, result.stdout + result.stderr
    said = " ".join(result.stdout.split())  # the report wraps long lines
    assert "esl_controller.esl.drivers.oepl is not allowed to import" in said


def test_the_core_never_names_a_driver(project_copy: Path) -> None:
    drivers = project_copy / "esl_controller" / "signage" / "drivers"
    for package in (drivers, drivers / "browser"):
        package.mkdir(exist_ok=True)
        if not (package / "__init__.py").exists():
            (package / "__init__.py").write_text("")
    add_line(
        project_copy,
        "esl_controller.signage.schedule",
        "from esl_controller.signage.drivers import browser",
    )
    result = lint_imports(project_copy, "core")
    assert result.returncode == 1, result.stdout + result.stderr


def test_an_exception_whose_import_is_gone_fails_until_it_is_removed(project_copy: Path) -> None:
    """The ignore_imports entries are debts: paying one off without deleting the entry is an
    error, so the contract tightens as the code improves."""
    reports = project_copy / "esl_controller" / "ads" / "reports.py"
    source = reports.read_text(encoding="utf-8")
    paid_off = "from esl_controller.ads.report_pdf import render_pdf"
    assert paid_off in source
    reports.write_text(source.replace(paid_off, "render_pdf = None  # paid off"), encoding="utf-8")
    result = lint_imports(project_copy, "acyclic")
    assert result.returncode == 1
    said = " ".join(result.stdout.split())  # the report wraps long lines
    assert (
        "No matches for ignored import esl_controller.ads.reports -> esl_controller.ads.report_pdf"
        in said
    )
