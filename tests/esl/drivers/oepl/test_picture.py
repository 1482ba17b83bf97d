"""What the AP decodes from our JPEG equals our render, pixel for pixel, on every panel.

Each tag type the emulator knows and we have a model for gets real labels (price, promo
with the accent colour, stock) rendered by our templates; the emulator maps the uploaded
JPEG to the tag type's inks as the firmware does with dither=0. The mismatch count per
panel is 0; a non-zero count fails with the count per size and colour mode.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from esl_controller.esl.drivers.oepl import records
from esl_controller.esl.drivers.oepl.picture import PictureError, jpeg_for
from esl_controller.esl.drivers.oepl.tagtypes import match_tag_type
from esl_controller.esl.link import Command, CommandKind
from esl_controller.labels.content import LabelContent, Money, PromoInfo, StockInfo, UnitPrice
from esl_controller.labels.hardware import load_hardware_models
from esl_controller.labels.planes import pack_image
from esl_controller.labels.render import panel_image, render_label
from esl_controller.labels.templates import load_templates
from esl_controller.sims.oepl_ap import TAG_TYPES, decode_upload
from tests.support.oepl import RecordingEvents

CONTENT = LabelContent(
    gtin="5901234123457",
    name="Brânză telemea de vacă Ștefănești",
    brand="Zuzu",
    price=Money(1849, "RON"),
    locale="ro_RO",
    unit_price=UnitPrice(Money(3698, "RON"), "kg"),
    promo=PromoInfo(Money(2299, "RON"), Money(2199, "RON"), None, date(2026, 12, 31)),
    stock=StockInfo(level="low", quantity=3, restock_date=None),
    digital_link="https://id.gs1.org/01/05901234123457",
    size_text="500 g",
)
MODELS = load_hardware_models()
TEMPLATES = load_templates(models=MODELS)
MAPPED = {
    hw_type: match
    for hw_type, tag_type in TAG_TYPES.items()
    if (
        match := match_tag_type(records.tag_type(json.dumps(tag_type.as_json()), hw_type), MODELS)
    ).model_id
}


def _renders(model_id: str) -> list[tuple[str, np.ndarray, object]]:
    model = MODELS[model_id]
    out = []
    for name in ("price", "promo", "stock"):
        template = TEMPLATES.get(name)
        if template is None or model.size_key not in template.layouts:
            continue
        image = render_label(template, CONTENT, model)
        # Packed as the render pool packs it: in the panel's own orientation.
        packed = pack_image(panel_image(image, model), model.colour_mode)
        out.append((name, np.asarray(image), packed))
    return out


def test_every_common_panel_is_covered() -> None:
    modes = {(MODELS[m.model_id].size_key, MODELS[m.model_id].colour_mode) for m in MAPPED.values()}
    for size in ("152x152", "256x128", "296x128", "400x300", "800x480"):
        assert any(s == size for s, _ in modes), size
    assert {mode for _, mode in modes} == {"BW", "BWR", "BWY"}


@pytest.mark.parametrize("hw_type", sorted(MAPPED), ids=lambda t: f"{t:02X}")
def test_the_decoded_picture_is_our_render(hw_type: int) -> None:
    match = MAPPED[hw_type]
    renders = _renders(match.model_id)
    assert renders, match.model_id
    for name, pixels, packed in renders:
        decoded, complaint = decode_upload(jpeg_for(packed, match), TAG_TYPES[hw_type], 0)
        assert complaint is None
        mismatched = int((decoded != pixels).sum())
        assert mismatched == 0, f"{match.model_id} {name}: {mismatched} pixels differ"
        if MODELS[match.model_id].colour_mode != "BW" and name == "promo":
            assert (pixels == 2).any()  # the accent really was exercised


def test_a_picture_of_the_wrong_size_is_refused_before_upload() -> None:
    _, _, packed = _renders("2.9-bwr")[0]
    with pytest.raises(PictureError, match=r"a 1\.54-bwr panel is 152x152"):
        jpeg_for(packed, MAPPED[0x00])  # a 1.54" tag


def test_what_every_tag_shows_over_http_is_our_render(oepl_ap, open_link) -> None:
    kinds = sorted(MAPPED)
    ap, config = oepl_ap(tags=len(kinds), checkin_s=3600.0, hw_types=kinds)
    events = RecordingEvents()
    link = open_link(config, events)
    assert events.wait_count("station_online", 1)
    expected: dict[str, tuple[str, np.ndarray]] = {}
    for seq, mac in enumerate(ap.macs(), start=1):
        model_id = events.heard()[mac].model
        name, pixels, packed = _renders(model_id)[-1]
        expected[mac] = (f"{model_id} {name}", pixels)
        link.send(Command(seq, mac, config.station_id, CommandKind.IMAGE, seq, packed))
    assert events.wait_for(lambda _: all(ap.tag(mac).pending == 1 for mac in expected))
    for mac in expected:
        ap.check_in_now(mac)
    assert len(events.wait_count("delivered", len(expected))) == len(expected)
    mismatches = {
        what: int((np.asarray(ap.shown(mac)) != pixels).sum())
        for mac, (what, pixels) in expected.items()
    }
    assert mismatches == dict.fromkeys(mismatches, 0)
