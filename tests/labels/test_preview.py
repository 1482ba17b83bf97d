from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from esl_controller.labels.content import LabelContent
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.preview import preview_png, write_preview
from esl_controller.labels.render import render_label
from esl_controller.labels.templates import LabelTemplate
from tests.labels.conftest import promo_info


@pytest.mark.parametrize("model_id", ["2.9-bw", "2.9-bwr", "2.9-bwy"])
def test_preview_is_exactly_the_label_in_its_real_colours(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: Callable[..., LabelContent],
    model_id: str,
) -> None:
    model = models[model_id]
    image = render_label(templates["promo"], make_content(promo=promo_info()), model)
    preview = Image.open(io.BytesIO(preview_png(image, model)))
    assert preview.format == "PNG" and preview.mode == "RGB"
    assert preview.size == (model.width, model.height)  # display orientation, no scaling
    expected = [model.palette[index] for index in image.tobytes()]
    rgb = preview.tobytes()
    assert [tuple(rgb[i : i + 3]) for i in range(0, len(rgb), 3)] == expected


def test_write_preview_creates_the_file(
    tmp_path: Path,
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: Callable[..., LabelContent],
) -> None:
    model = models["4.2-bwr"]
    image = render_label(templates["price"], make_content(), model)
    path = write_preview(tmp_path / "previews" / "price.png", image, model)
    assert Image.open(path).size == (400, 300)


def test_preview_refuses_images_that_are_not_this_label(models: dict[str, HardwareModel]) -> None:
    with pytest.raises(ValueError, match="shows 296x128"):
        preview_png(Image.new("P", (10, 10)), models["2.9-bw"])
    with pytest.raises(ValueError, match="mode P"):
        preview_png(Image.new("RGB", (296, 128)), models["2.9-bw"])
    accent_on_bw = Image.new("P", (296, 128), 2)
    with pytest.raises(ValueError, match=r"pixel value 2 has no colour on 2\.9-bw"):
        preview_png(accent_on_bw, models["2.9-bw"])
