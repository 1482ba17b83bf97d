"""The dashboard's static files: all of them ship in the wheel, and the vendored barcode
decoder is the pinned release, runnable under the pages' strict script policy."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from esl_controller.web import security_headers

PACKAGE = Path(security_headers.__file__).parents[1]
STATIC = PACKAGE / "web" / "static"
DECODER_DIR = STATIC / "vendor" / "zxing-library-0.23.0"


def test_an_installed_package_carries_every_static_file() -> None:
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["esl_controller"]
    shipped = {path for pattern in globs for path in PACKAGE.glob(pattern) if path.is_file()}
    static = {path for path in STATIC.rglob("*") if path.is_file()}
    assert DECODER_DIR / "zxing.min.js" in static
    assert static - shipped == set()


def test_the_vendored_decoder_is_the_recorded_release_with_its_licence() -> None:
    source = (DECODER_DIR / "SOURCE.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", source)
    assert recorded, "SOURCE.md must record the file's sha256"
    digest = hashlib.sha256((DECODER_DIR / "zxing.min.js").read_bytes()).hexdigest()
    assert digest == recorded.group(1)
    assert "Apache License" in (DECODER_DIR / "LICENSE").read_text(encoding="utf-8")
    shelf_js = (STATIC / "shelf.js").read_text(encoding="utf-8")
    assert f"vendor/{DECODER_DIR.name}/zxing.min.js" in shelf_js


def test_the_decoder_needs_nothing_the_content_security_policy_forbids() -> None:
    policy = security_headers.CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in policy and "eval" not in policy
    code = (DECODER_DIR / "zxing.min.js").read_text(encoding="utf-8")
    # eval and new Function need 'unsafe-eval'; compiling WebAssembly needs 'wasm-unsafe-eval'.
    for needs_a_looser_policy in ("eval(", "new Function", "Function(", "WebAssembly"):
        assert needs_a_looser_policy not in code
