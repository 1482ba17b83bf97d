from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from PIL import Image

from esl_controller.config import PROJECT_ROOT
from esl_controller.labels.fonts import get_font
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.render import _Canvas, fit_text
from esl_controller.labels.templates import (
    ELEMENT_TYPES,
    LabelTemplate,
    TemplateError,
    load_template,
    load_templates,
)

TEMPLATES_DIR = PROJECT_ROOT / "label_templates"


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    """A templates directory with the bundled fonts and images, for bad-template tests."""
    directory = tmp_path / "label_templates"
    directory.mkdir()
    (directory / "fonts").symlink_to(TEMPLATES_DIR / "fonts")
    (directory / "images").symlink_to(TEMPLATES_DIR / "images")
    return directory


def write_template(directory: Path, elements: list[dict], size: str = "296x128") -> Path:
    path = directory / "promo.yaml"
    document = {"kind": "promo", "layouts": {size: {"elements": elements}}}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


NAME = {"type": "name", "box": [4, 2, 288, 38], "font": "DejaVuSans.ttf", "size": 18}


def test_bundled_templates_load(templates: dict[str, LabelTemplate]) -> None:
    assert {"price", "promo", "stock", "not_for_sale"} <= set(templates)


def test_every_bundled_template_has_a_layout_for_every_panel(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel]
) -> None:
    """No panel falls back to another template: a promotion shows on every shelf."""
    sizes = {model.size_key for model in models.values()}
    assert sizes == {"152x152", "250x122", "256x128", "296x128", "400x300", "800x480"}
    for template in templates.values():
        assert set(template.layouts) == sizes, template.name


def test_small_square_price_layout_has_no_barcode(templates: dict[str, LabelTemplate]) -> None:
    layout = templates["price"].layouts["152x152"]
    assert "barcode" not in {e.type for e in layout.elements}


def test_static_and_dynamic_elements_are_split(templates: dict[str, LabelTemplate]) -> None:
    layout = templates["promo"].layouts["296x128"]
    assert {e.type for e in layout.static_elements} == {"rect", "text"}
    assert "name" in {e.type for e in layout.dynamic_elements}
    assert len(layout.static_elements) + len(layout.dynamic_elements) == len(layout.elements)


def test_layout_for_unknown_size_names_template_and_size(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel]
) -> None:
    only_2_9 = LabelTemplate("narrow", "price", "", "narrow.yaml", {
        "296x128": templates["price"].layouts["296x128"]
    })  # fmt: skip
    with pytest.raises(TemplateError, match=r"template 'narrow' has no layout for 152x152"):
        only_2_9.layout_for(models["1.54-bwr"])


def test_good_template_loads(template_dir: Path, models: dict[str, HardwareModel]) -> None:
    template = load_template(write_template(template_dir, [NAME]), models)
    element = template.layouts["296x128"].elements[0]
    assert (element.type, element.max_lines, element.min_size) == ("name", 2, 18)


@pytest.mark.parametrize(
    ("element", "field", "message"),
    [
        ({"type": "sparkle", "box": [0, 0, 10, 10]}, "type", "unknown element type 'sparkle'"),
        ({**NAME, "box": [200, 2, 100, 38]}, "box", "reaches outside the 296x128 label"),
        ({**NAME, "box": [4, -1, 100, 38]}, "box", "reaches outside"),
        ({**NAME, "box": [4, 2, 0, 38]}, "box", "positive width and height"),
        ({**NAME, "box": [4, 2, 100]}, "box", r"\[x, y, w, h\]"),
        ({**NAME, "font": "Missing.ttf"}, "font", "font 'Missing.ttf' not found"),
        ({**NAME, "min_size": 30}, "min_size", "min_size 30 exceeds size 18"),
        ({**NAME, "box": [4, 2, 288, 10]}, "min_size", "one line at 18 px needs 22 px"),
        ({**NAME, "colour": "pink"}, "colour", "Must be one of"),
        ({**NAME, "size": "big"}, "size", "Not a valid integer"),
        ({**NAME, "wobble": 1}, "wobble", "Unknown field"),
        (
            {"type": "barcode", "box": [0, 90, 225, 38], "font": "DejaVuSans.ttf", "size": 10},
            "box",
            "needs 113 modules x 2 px = 226 px .* on 2.9-bw.*box is 225 px wide",
        ),
        (
            {"type": "barcode", "box": [0, 100, 230, 20], "font": "DejaVuSans.ttf", "size": 10},
            "box",
            "at least 30 px height",
        ),
        ({"type": "qr", "box": [0, 0, 40, 40]}, "box", "QR code needs at least 41x41 px"),
        (
            {
                "type": "prior_price",
                "box": [4, 80, 116, 24],
                "font": "DejaVuSans.ttf",
                "size": 10,
                "min_size": 8,
                "amount_size": 14,
            },
            "amount_size",
            "the amount's line at 14 px and one line of lead-in at 8 px need 27 px, box is 24",
        ),
        (
            {"type": "logo", "box": [0, 0, 40, 40], "file": "nope.png"},
            "file",
            "'nope.png' not found",
        ),
        (
            {"type": "text", "box": [0, 0, 90, 20], "font": "DejaVuSans.ttf", "size": 12},
            "field",
            "exactly one of field or text",
        ),
    ],
)
def test_refusals_name_file_and_field(
    template_dir: Path, models: dict[str, HardwareModel], element: dict, field: str, message: str
) -> None:
    path = write_template(template_dir, [NAME, NAME, NAME, element])
    with pytest.raises(TemplateError, match=message) as info:
        load_template(path, models)
    prefix = f"label_templates/promo.yaml: layouts.296x128.elements[3].{field}: "
    assert str(info.value).startswith(prefix), str(info.value)


def test_missing_font_message_matches_the_documented_form(
    template_dir: Path, models: dict[str, HardwareModel]
) -> None:
    path = write_template(template_dir, [NAME, NAME, NAME, {**NAME, "font": "Missing.ttf"}])
    with pytest.raises(TemplateError) as info:
        load_template(path, models)
    assert str(info.value) == (
        "label_templates/promo.yaml: layouts.296x128.elements[3].font: font 'Missing.ttf' not found"
    )


def test_barcode_must_fit_every_model_of_the_size(
    template_dir: Path, models: dict[str, HardwareModel]
) -> None:
    """250x122 panels have 5.15 px/mm: 2 px modules are legal, so 226 px is enough there."""
    fits = {"type": "barcode", "box": [0, 90, 226, 32], "font": "DejaVuSans.ttf", "size": 10}
    load_template(write_template(template_dir, [fits], "250x122"), models)
    narrow = {**fits, "box": [0, 90, 224, 32]}
    with pytest.raises(TemplateError) as info:
        load_template(write_template(template_dir, [narrow], "250x122"), models)
    assert {"2.13-bw", "2.13-bwr", "2.13-bwy"} == {
        m for m in ("2.13-bw", "2.13-bwr", "2.13-bwy") if f"on {m})" in str(info.value)
    }


def test_size_without_hardware_is_refused(
    template_dir: Path, models: dict[str, HardwareModel]
) -> None:
    with pytest.raises(TemplateError, match=r"layouts\.123x45: no hardware model is 123x45"):
        load_template(write_template(template_dir, [NAME], "123x45"), models)


def test_malformed_files_are_named(template_dir: Path, models: dict[str, HardwareModel]) -> None:
    path = template_dir / "promo.yaml"
    path.write_text("kind: [unclosed", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"label_templates/promo\.yaml: not valid YAML"):
        load_template(path, models)
    path.write_text("layouts: {}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"promo\.yaml: kind: Missing data"):
        load_template(path, models)


def test_every_error_is_reported_not_just_the_first(
    template_dir: Path, models: dict[str, HardwareModel]
) -> None:
    bad = [{**NAME, "font": "Missing.ttf"}, {**NAME, "box": [0, 0, 999, 38]}]
    with pytest.raises(TemplateError) as info:
        load_template(write_template(template_dir, bad), models)
    assert "elements[0].font" in str(info.value) and "elements[1].box" in str(info.value)


def test_load_templates_reads_a_directory(
    template_dir: Path, models: dict[str, HardwareModel]
) -> None:
    write_template(template_dir, [NAME])
    assert list(load_templates(template_dir, models)) == ["promo"]


def test_every_element_type_has_a_schema() -> None:
    assert set(ELEMENT_TYPES) >= {
        "text", "name", "price", "unit_price", "old_price", "prior_price", "stock_badge",
        "barcode", "qr", "image", "logo", "rect", "line",
    }  # fmt: skip


def test_single_line_words_fit_their_box_at_their_designed_size(
    templates: dict[str, LabelTemplate],
) -> None:
    """A box shorter than its font's line makes every label fall back to a smaller size."""
    too_short = []
    for template in templates.values():
        for key, layout in template.layouts.items():
            for element in layout.elements:
                if not element.font or element.type in ("barcode", "price", "name"):
                    continue
                if element.max_lines != 1:
                    continue
                ascent, descent = get_font(
                    element.font, element.size, layout.fonts_dir
                ).getmetrics()
                if ascent + descent > element.box.h:
                    too_short.append(
                        f"{template.name} {key} {element.type} {element.field}: "
                        f"{element.size} px needs {ascent + descent} px, box is {element.box.h}"
                    )
    assert too_short == []


def test_brand_and_size_render_at_their_designed_size_on_2_9_inch_labels(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel]
) -> None:
    model = models["2.9-bwr"]
    for name in ("price", "stock"):
        layout = templates[name].layout_for(model)
        canvas = _Canvas(Image.new("P", (layout.width, layout.height)), layout, model)
        for element in layout.elements:
            if element.field in ("brand", "size_text"):
                fitted = fit_text("Zuzu Lei 500 g", element, canvas)
                assert fitted.font.size == element.size == 13, f"{name} {element.field}"
