"""Every template on every panel: the legal content is there, legible, and drawn as designed.

Properties hold for every (template, panel size); the golden digests pin each pair's pixels
for two fixed contents, so a layout changes only on purpose (re-record with
`ESL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/labels/test_layouts.py` and say so in the commit).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from esl_controller.labels.content import LabelContent, StockInfo
from esl_controller.labels.fonts import get_font
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.render import render_label
from esl_controller.labels.templates import Box, Element, LabelTemplate, Layout
from tests.labels.conftest import promo_info

MakeContent = Callable[..., LabelContent]
GOLDEN = Path(__file__).with_name("golden_renders.json")

# What a shopper must find on each kind of label (98/6/EC unit price; 2019/2161 prior price).
REQUIRED = {
    "price": {"name", "price", "unit_price"},
    "promo": {"name", "price", "unit_price", "old_price", "prior_price", "promo_ends"},
    "stock": {"name", "price", "unit_price", "stock_badge"},
    "not_for_sale": {"name"},
}
# The floor under the fitter's shrinking, per element; tests/labels/test_legibility.py reads
# name, price and unit price at these sizes, which is what makes them the floor.
MIN_SIZE = {"price": 20, "unit_price": 8, "old_price": 9, "name": 10, "prior_price": 8}


def layouts(templates: dict[str, LabelTemplate]) -> list[tuple[LabelTemplate, Layout]]:
    return [(t, layout) for t in templates.values() for layout in t.layouts.values()]


def sample_model(models: dict[str, HardwareModel], size_key: str, accent: bool) -> HardwareModel:
    return next(m for m in models.values() if m.size_key == size_key and m.has_accent == accent)


def ink(image: Image.Image, box: Box) -> set[int]:
    return set(image.crop((box.x, box.y, box.right, box.bottom)).tobytes()) - {0}


def of_type(layout: Layout, kind: str) -> Element:
    return next(e for e in layout.elements if e.type == kind)


def test_every_layout_carries_what_its_kind_must_show(
    templates: dict[str, LabelTemplate],
) -> None:
    missing = []
    for template, layout in layouts(templates):
        lacking = REQUIRED[template.kind] - {e.type for e in layout.elements}
        if lacking:
            missing.append(f"{template.name} {layout.size_key}: no {', '.join(sorted(lacking))}")
    assert missing == []


def test_every_promo_layout_has_its_band_word(templates: dict[str, LabelTemplate]) -> None:
    for layout in templates["promo"].layouts.values():
        assert any(e.type == "text" and e.text == "PROMO" for e in layout.elements)


def test_no_element_is_smaller_than_its_legible_minimum(
    templates: dict[str, LabelTemplate],
) -> None:
    small = [
        f"{template.name} {layout.size_key} {e.type}: min_size {e.min_size}"
        for template, layout in layouts(templates)
        for e in layout.elements
        if e.type in MIN_SIZE and e.min_size < MIN_SIZE[e.type]
    ]
    assert small == []


def test_every_text_box_holds_its_lines_at_the_smallest_size(
    templates: dict[str, LabelTemplate],
) -> None:
    """A box of max_lines lines at min_size, or the fitter would cut lines it was promised."""
    short = []
    for template, layout in layouts(templates):
        for e in layout.elements:
            if not e.font or e.type in ("barcode", "price") or e.max_lines < 2:
                continue
            ascent, descent = get_font(e.font, e.min_size, layout.fonts_dir).getmetrics()
            if 2 * (ascent + descent) > e.box.h:
                short.append(f"{template.name} {layout.size_key} {e.type}: {e.box.h} px high")
    assert short == []


@pytest.mark.parametrize("size_key", ["152x152", "250x122", "256x128", "296x128", "400x300",
                                      "800x480"])  # fmt: skip
def test_a_reduction_shows_the_struck_price_and_the_prior_price_on_every_panel(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    size_key: str,
) -> None:
    promo = templates["promo"]
    layout = promo.layouts[size_key]
    model = sample_model(models, size_key, accent=True)
    for info in (promo_info(prior=899), promo_info(prior=None, note="Prior price n/a")):
        image = render_label(promo, make_content(promo=info), model)
        for kind in ("old_price", "prior_price", "promo_ends", "price", "unit_price"):
            assert ink(image, of_type(layout, kind).box), f"{size_key}: {kind} is blank"
        assert 2 in ink(image, of_type(layout, "price").box)  # the reduced price in red
        band = of_type(layout, "rect").box
        assert ink(image, band) >= {2}  # the accent band


@pytest.mark.parametrize("size_key", ["152x152", "256x128", "800x480"])
def test_the_stock_badge_states_look_different_on_the_new_panels(
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
    size_key: str,
) -> None:
    stock = templates["stock"]
    box = of_type(stock.layouts[size_key], "stock_badge").box
    model = sample_model(models, size_key, accent=True)

    def badge(level: str) -> bytes:
        content = make_content(stock=StockInfo(level, 0, date(2025, 4, 2)))
        image = render_label(stock, content, model)
        return image.crop((box.x, box.y, box.right, box.bottom)).tobytes()

    in_stock, low, out = badge("in_stock"), badge("low"), badge("out")
    assert set(in_stock) == {0, 1} and set(low) == {0, 2}
    assert out.count(2) > 0.5 * len(out) and 0 in set(out)


def _golden_contents(make_content: MakeContent) -> dict[str, LabelContent]:
    return {
        "regular": make_content(stock=StockInfo("low", 3, None)),
        "reduced": make_content(promo=promo_info(), stock=StockInfo("out", 0, date(2025, 4, 2))),
    }


def _digests(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make: MakeContent
) -> dict[str, str]:
    digests = {}
    for template in templates.values():
        for model in models.values():
            for case, content in _golden_contents(make).items():
                image = render_label(template, content, model)
                digests[f"{template.name} {model.id} {case}"] = hashlib.sha256(
                    image.tobytes()
                ).hexdigest()[:16]
    return digests


def test_every_pair_draws_the_recorded_pixels(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    digests = _digests(templates, models, make_content)
    if os.environ.get("ESL_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(key for key in digests.keys() | recorded.keys()
                     if digests.get(key) != recorded.get(key))  # fmt: skip
    assert changed == [], "re-record with ESL_UPDATE_GOLDEN=1 if intended: " + ", ".join(changed)
