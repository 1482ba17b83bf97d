from __future__ import annotations

import pytest
import segno

from esl_controller.labels.qr import QUIET_MODULES, qr_image, qr_matrix, qr_module_px

URI = "https://id.gs1.org/01/05901234123457"


def test_matrix_is_segnos_symbol() -> None:
    expected = segno.make(URI, error="m", micro=False).matrix
    assert [list(row) for row in qr_matrix(URI)] == [[int(m) for m in row] for row in expected]


def test_image_draws_every_module_as_whole_pixels() -> None:
    rows = qr_matrix(URI)
    image, module = qr_image(URI, 90, 90, ink=2)
    assert module == qr_module_px(90, 90, len(rows)) == 90 // (len(rows) + 2 * QUIET_MODULES)
    assert image.size == (len(rows) * module,) * 2
    pixels = image.load()
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            block = {pixels[x * module + dx, y * module + dy]
                     for dx in range(module) for dy in range(module)}  # fmt: skip
            assert block == {2 if dark else 0}


def test_box_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 37x37 px"):
        qr_image(URI, 30, 30, ink=1)


def test_empty_uri_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty URI"):
        qr_matrix("")
