from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import segno
import yaml
from PIL import Image

from esl_controller.config import PROJECT_ROOT
from esl_controller.labels import barcode, fonts
from esl_controller.labels.content import LabelContent, Money, StockInfo
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.qr import QUIET_MODULES
from esl_controller.labels.render import (
    ELLIPSIS,
    RenderError,
    _Canvas,
    fit_text,
    panel_image,
    prior_price_text,
    render_label,
    static_layer,
    stock_text,
)
from esl_controller.labels.templates import Box, Element, LabelTemplate, load_template
from tests.labels.conftest import promo_info
from tests.labels.test_barcode import decode_ean13

MakeContent = Callable[..., LabelContent]
LONG_NAMES = {
    "ro": "Brânză telemea de vacă maturată în saramură, ambalată în vid, ediție specială "
    "de sărbători pentru întreaga familie",
    "ru": "Сыр полутвёрдый Российский молодой весовой с массовой долей жира пятьдесят "
    "процентов в сухом веществе",
    "el": "Ελαιόλαδο έξτρα παρθένο από ελιές Κορωνέικη της Κρήτης σε γυάλινη φιάλη "
    "με πώμα ασφαλείας, ψυχρής έκθλιψης, συσκευασία δώρου",
}


def element_of(template: LabelTemplate, model: HardwareModel, kind: str) -> Element:
    return next(e for e in template.layout_for(model).elements if e.type == kind)


def crop(image: Image.Image, box: Box) -> Image.Image:
    return image.crop((box.x, box.y, box.right, box.bottom))


def values(image: Image.Image) -> set[int]:
    return set(image.tobytes())


def all_pairs(templates: dict[str, LabelTemplate], models: dict[str, HardwareModel]):
    for template in templates.values():
        for model in models.values():
            if model.size_key in template.layouts:
                yield template, model


# ----------------------------------------------------------------------- palette and size


@pytest.mark.parametrize("with_promo", [False, True])
def test_every_layout_renders_on_every_model_of_its_size(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    with_promo: bool,
) -> None:
    content = make_content(
        promo=promo_info() if with_promo else None,
        stock=StockInfo("out", 0, date(2025, 4, 2)),
    )
    pairs = list(all_pairs(templates, models))
    assert len(pairs) >= 30
    for template, model in pairs:
        image = render_label(template, content, model)
        assert image.mode == "P" and image.size == (model.width, model.height)
        assert image.getpalette()[: 3 * len(model.palette)] == model.flat_palette
        allowed = {0, 1, 2} if model.has_accent else {0, 1}
        assert values(image) <= allowed, (template.name, model.id)
        assert 1 in values(image)


def test_accent_appears_on_colour_panels_only(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    content = make_content(promo=promo_info())
    for model_id in ("2.9-bwr", "2.9-bwy"):
        assert 2 in values(render_label(templates["promo"], content, models[model_id]))
    assert 2 not in values(render_label(templates["promo"], content, models["2.9-bw"]))


def test_light_accent_never_colours_text(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    """Yellow digits on white are unreadable: on BWY the accent-coloured price prints black."""
    content = make_content(promo=promo_info())
    model = models["2.9-bwy"]
    price_box = element_of(templates["promo"], model, "price").box
    assert values(crop(render_label(templates["promo"], content, model), price_box)) == {0, 1}
    bwr = models["2.9-bwr"]
    assert 2 in values(crop(render_label(templates["promo"], content, bwr), price_box))


# ---------------------------------------------------------------------------- determinism


def test_same_inputs_give_the_same_bytes_warm_or_cold(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    content = make_content(name=LONG_NAMES["ro"], promo=promo_info())
    model = models["4.2-bwr"]
    first = render_label(templates["promo"], content, model).tobytes()
    assert render_label(templates["promo"], content, model).tobytes() == first
    static_layer.cache_clear()
    fonts.glyph.cache_clear()
    fonts.text_bbox.cache_clear()
    fonts.get_font.cache_clear()
    assert render_label(templates["promo"], content, model).tobytes() == first
    other = make_content(name=LONG_NAMES["ro"], promo=promo_info(was=1099))
    assert render_label(templates["promo"], other, model).tobytes() != first


def test_rendering_does_not_touch_the_cached_background(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    layout = templates["price"].layout_for(model)
    background = static_layer(layout, model)
    before = background.tobytes()
    render_label(templates["price"], make_content(), model)
    assert static_layer(layout, model) is background
    assert background.tobytes() == before


# -------------------------------------------------------------------------- name auto-fit


@pytest.fixture
def name_only(tmp_path: Path, models: dict[str, HardwareModel]) -> LabelTemplate:
    """A template drawing nothing but the name, so every ink pixel belongs to it."""
    directory = tmp_path / "label_templates"
    directory.mkdir()
    (directory / "fonts").symlink_to(PROJECT_ROOT / "label_templates" / "fonts")
    element = {"type": "name", "box": [10, 8, 276, 40], "font": "DejaVuSansCondensed-Bold.ttf",
               "size": 22, "min_size": 11, "max_lines": 2}  # fmt: skip
    path = directory / "name.yaml"
    path.write_text(
        yaml.safe_dump({"kind": "name", "layouts": {"296x128": {"elements": [element]}}})
    )
    return load_template(path, models)


@pytest.mark.parametrize("script", sorted(LONG_NAMES))
def test_long_name_shrinks_wraps_and_ends_with_ellipsis(
    name_only: LabelTemplate,
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    script: str,
) -> None:
    model = models["2.9-bwr"]
    element = element_of(name_only, model, "name")
    image = render_label(name_only, make_content(name=LONG_NAMES[script]), model)
    canvas = _Canvas(image.copy(), name_only.layout_for(model), model)
    fitted = fit_text(LONG_NAMES[script], element, canvas)
    assert fitted.font.size == element.min_size < element.size
    assert len(fitted.lines) == 2 and fitted.lines[-1].endswith(ELLIPSIS)
    assert not fitted.lines[0].endswith(ELLIPSIS)
    box = element.box
    left, top, right, bottom = image.getbbox()
    assert box.x <= left and box.y <= top and right <= box.right and bottom <= box.bottom
    assert right - left > box.w * 0.8  # it uses the room it has


def test_short_name_keeps_the_largest_size_on_one_line(
    name_only: LabelTemplate, models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    element = element_of(name_only, model, "name")
    canvas = _Canvas(Image.new("P", (296, 128)), name_only.layout_for(model), model)
    fitted = fit_text("Lapte 1 l", element, canvas)
    assert (fitted.font.size, fitted.lines) == (element.size, ("Lapte 1 l",))


def test_medium_name_wraps_before_shrinking_to_the_minimum(
    name_only: LabelTemplate, models: dict[str, HardwareModel]
) -> None:
    model = models["2.9-bwr"]
    element = element_of(name_only, model, "name")
    canvas = _Canvas(Image.new("P", (296, 128)), name_only.layout_for(model), model)
    name = "Smântână pentru gătit 20% grăsime Napolact 400 g"
    fitted = fit_text(name, element, canvas)
    assert len(fitted.lines) == 2 and " ".join(fitted.lines) == name
    assert element.min_size < fitted.font.size < element.size


def test_unbreakable_word_is_split_not_clipped(
    name_only: LabelTemplate, models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    image = render_label(name_only, make_content(name="Ж" * 80), model)
    box = element_of(name_only, model, "name").box
    left, _top, right, bottom = image.getbbox()
    assert box.x <= left and right <= box.right and bottom <= box.bottom


# ------------------------------------------------------------------------------- barcode


def bar_row(image: Image.Image, box: Box, y: int) -> list[int]:
    return [image.getpixel((x, y)) for x in range(box.x, box.right)]


@pytest.mark.parametrize(
    ("model_id", "gtin"),
    [("2.9-bwr", "5901234123457"), ("2.13-bw", "4006381333931"), ("7.5-bwr", "012345678905")],
)
def test_barcode_pixels_scan_back_to_the_gtin(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    model_id: str,
    gtin: str,
) -> None:
    model = models[model_id]
    box = element_of(templates["price"], model, "barcode").box
    image = render_label(templates["price"], make_content(gtin=gtin), model)
    row = bar_row(image, box, box.y + 3)
    dark = [x for x, value in enumerate(row) if value]
    start, end = dark[0], dark[-1] + 1
    runs, current, length = [], row[start], 0
    for value in row[start:end]:
        if value == current:
            length += 1
        else:
            runs.append(length)
            current, length = value, 1
    runs.append(length)
    module = barcode.module_width_px(box.w, model.px_per_mm)
    assert min(runs) == module and all(run % module == 0 for run in runs)
    assert end - start == 95 * module
    modules = "".join("1" if row[start + i * module] else "0" for i in range(95))
    assert decode_ean13(modules) == barcode.ean13_digits(gtin)
    # Quiet zones: 11 modules left, 7 right, white over the whole bar height.
    bars = crop(image, Box(box.x + start - 11 * module, box.y, 113 * module, 20))
    quiet_left = bars.crop((0, 0, 11 * module, 20))
    quiet_right = bars.crop((bars.width - 7 * module, 0, bars.width, 20))
    assert values(quiet_left) == {0} and values(quiet_right) == {0}
    assert values(crop(image, box)) == {0, 1}  # never dithered, never accent
    # Below the ordinary bars only the guard bars go on, between the digit groups.
    geo_rows = [y for y in range(box.y, box.bottom) if bar_row(image, box, y)[start] != 0]
    guard_y = geo_rows[-1]
    guard_row = bar_row(image, box, guard_y)
    guards = "".join("1" if guard_row[start + i * module] else "0" for i in range(95))
    assert (guards[:3], guards[45:50], guards[92:]) == ("101", "01010", "101")
    assert guard_y - box.y > 0.6 * box.h  # they reach down into the digit row


def test_gtin8_prints_the_number_instead_of_a_wrong_symbol(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    box = element_of(templates["price"], model, "barcode").box
    image = render_label(templates["price"], make_content(gtin="96385074"), model)
    ink = crop(image, box).getbbox()
    assert ink is not None and ink[3] - ink[1] < 20  # one line of text, not 30 px bars


def test_wrong_check_digit_is_refused(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    with pytest.raises(ValueError, match="check digit 8, expected 7"):
        render_label(templates["price"], make_content(gtin="5901234123458"), models["2.9-bw"])


# ------------------------------------------------------------------------------------ QR


def test_qr_pixels_equal_segnos_matrix(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["4.2-bwr"]
    uri = "https://id.gs1.org/01/05901234123457/10/ABC123"
    box = element_of(templates["price"], model, "qr").box
    image = render_label(templates["price"], make_content(digital_link=uri), model)
    matrix = segno.make(uri, error="m", micro=False).matrix
    size = len(matrix)
    module = min(box.w, box.h) // (size + 2 * QUIET_MODULES)
    assert module >= 2
    side = (size + 2 * QUIET_MODULES) * module
    left, top = box.x + (box.w - side) // 2, box.y + (box.h - side) // 2
    region = image.crop((left, top, left + side, top + side))
    quiet = QUIET_MODULES * module
    for y in range(size + 2 * QUIET_MODULES):
        for x in range(size + 2 * QUIET_MODULES):
            block = {region.getpixel((x * module + dx, y * module + dy))
                     for dx in range(module) for dy in range(module)}  # fmt: skip
            inside = (
                QUIET_MODULES <= x < size + QUIET_MODULES
                and QUIET_MODULES <= y < size + QUIET_MODULES
            )
            dark = inside and matrix[y - QUIET_MODULES][x - QUIET_MODULES]
            assert block == {1 if dark else 0}, (x, y)
    assert quiet > 0


# -------------------------------------------------------------------------- promo labels


def test_old_price_is_struck_through(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    box = element_of(templates["promo"], model, "old_price").box
    region = crop(render_label(templates["promo"], make_content(promo=promo_info()), model), box)
    text_left, _, text_right, _ = region.getbbox()
    strike_rows = [
        y for y in range(region.height)
        if sum(region.getpixel((x, y)) == 2 for x in range(text_left, text_right))
        >= 0.95 * (text_right - text_left)
    ]  # fmt: skip
    assert strike_rows, "no accent line across the old price"
    assert 1 in values(region)  # the digits themselves are black
    without = crop(render_label(templates["promo"], make_content(), model), box)
    assert without.getbbox() is None  # no promotion: no old price


def test_prior_price_line_or_the_note_never_a_made_up_number(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    element = element_of(templates["promo"], model, "prior_price")
    with_number = make_content(promo=promo_info(prior=899))
    assert prior_price_text(element, with_number) == (
        "Cel mai mic preț din ultimele 30 de zile: 8,99\u00a0lei"
    )
    note = "Price history shorter than 30 days"
    assert prior_price_text(element, make_content(promo=promo_info(prior=None, note=note))) == note
    silent = make_content(promo=promo_info(prior=None, note=None))
    assert prior_price_text(element, silent) == "Istoric de preț insuficient pentru prețul anterior"
    assert not any(ch.isdigit() for ch in element.no_history_text)
    assert prior_price_text(element, make_content()) is None
    images = {
        key: crop(render_label(templates["promo"], content, model), element.box).tobytes()
        for key, content in {"number": with_number, "silent": silent}.items()
    }
    assert images["number"] != images["silent"]
    assert crop(render_label(templates["promo"], silent, model), element.box).getbbox()


# --------------------------------------------------------------------------- stock badge


@pytest.mark.parametrize(
    ("level", "restock", "expected"),
    [
        ("in_stock", None, "În stoc"),
        ("low", None, "Stoc limitat"),
        ("out", None, "Stoc epuizat"),
        ("out", date(2025, 4, 2), "Stoc epuizat · revine pe 02.04.2025"),
    ],
)
def test_stock_badge_text(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    level: str,
    restock: date | None,
    expected: str,
) -> None:
    element = element_of(templates["stock"], models["2.9-bwr"], "stock_badge")
    assert stock_text(element, make_content(stock=StockInfo(level, 0, restock))) == expected


def test_stock_badge_states_look_different(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    box = element_of(templates["stock"], model, "stock_badge").box

    def badge(level: str) -> Image.Image:
        content = make_content(stock=StockInfo(level, 0, date(2025, 4, 2)))
        return crop(render_label(templates["stock"], content, model), box)

    in_stock, low, out = badge("in_stock"), badge("low"), badge("out")
    assert values(in_stock) == {0, 1}  # black frame and text
    assert values(low) == {0, 2}  # accent frame and text: attention
    out_pixels = out.tobytes()
    assert out_pixels.count(2) > 0.5 * len(out_pixels)  # filled accent badge
    assert 0 in values(out)  # with white text on it


def test_unknown_stock_level_is_refused(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    with pytest.raises(RenderError, match="unknown stock level 'plenty'"):
        render_label(
            templates["stock"], make_content(stock=StockInfo("plenty", 5, None)), models["2.9-bw"]
        )


# ------------------------------------------------------------------- price, logo, panel


def test_price_too_long_for_its_box_is_refused_not_clipped(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    content = make_content(price=Money(12345678999, "RON"))
    with pytest.raises(RenderError, match="does not fit the 170x52 price box"):
        render_label(templates["price"], content, models["2.9-bwr"])


def test_price_uses_large_units_and_small_decimals(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bw"]
    box = element_of(templates["price"], model, "price").box
    region = crop(
        render_label(templates["price"], make_content(price=Money(749, "RON")), model), box
    )
    _left, top, right, bottom = region.getbbox()
    assert right == box.w  # right-aligned to the pixel
    assert bottom - top > 0.6 * box.h  # the big digits fill the box height


def test_only_the_logo_is_dithered(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    box = element_of(templates["price"], model, "logo").box
    logo = crop(render_label(templates["price"], make_content(), model), box)
    assert values(logo) == {0, 1, 2}
    row_changes = sum(
        logo.getpixel((x, y)) != logo.getpixel((x + 1, y))
        for y in range(logo.height) for x in range(logo.width - 1)
    )  # fmt: skip
    assert row_changes > logo.width  # error diffusion scatters pixels


def test_panel_image_turns_to_native_scan_orientation(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    model = models["2.9-bwr"]
    assert model.rotation == 90
    image = render_label(templates["price"], make_content(), model)
    panel = panel_image(image, model)
    assert panel.size == (model.height, model.width)
    for x, y in ((0, 0), (10, 3), (295, 127), (150, 100)):
        assert panel.getpixel((model.height - 1 - y, x)) == image.getpixel((x, y))
    square = models["4.2-bw"]
    flat = render_label(templates["price"], make_content(), square)
    assert panel_image(flat, square).tobytes() == flat.tobytes()
    with pytest.raises(ValueError, match="shows 400x300"):
        panel_image(image, square)


def test_no_break_space_keeps_amount_and_symbol_on_one_line(
    name_only: LabelTemplate, models: dict[str, HardwareModel]
) -> None:
    model = models["2.9-bwr"]
    element = element_of(name_only, model, "name")
    canvas = _Canvas(Image.new("P", (296, 128)), name_only.layout_for(model), model)
    text = "Lowest price in the thirty days before this reduction was 12\u00a0345,99\u00a0lei"
    fitted = fit_text(text, element, canvas)
    assert len(fitted.lines) == 2
    assert fitted.lines[1].endswith("12\u00a0345,99\u00a0lei")
