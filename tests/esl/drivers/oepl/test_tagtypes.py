"""Tag types to our hardware models, and the LED pattern bytes."""

from __future__ import annotations

import json

import pytest

from esl_controller.esl.drivers.oepl import records
from esl_controller.esl.drivers.oepl.led import led_pattern
from esl_controller.esl.drivers.oepl.tagtypes import match_tag_type
from esl_controller.labels.hardware import load_hardware_models
from esl_controller.sims.oepl_ap import TAG_TYPES

EXPECTED = {
    0x00: "1.54-bwr",
    0x01: "2.9-bwr",
    0x02: "4.2-bwr",
    0x11: "2.9-bwr",
    0x21: "2.9-bw",
    0x27: "2.9-bw",
    0x34: "4.2-bwr",
    0x36: "7.5-bwr",
    0x3C: "4.2-bwy",
    0x54: "2.13h-bw",
    0x55: "2.13h-bwr",
    0x66: "7.5-bwy",
    0x82: "2.9-bwr",
}


def _info(hw_type: int) -> records.TagTypeInfo:
    return records.tag_type(json.dumps(TAG_TYPES[hw_type].as_json()), hw_type)


@pytest.mark.parametrize(("hw_type", "model_id"), sorted(EXPECTED.items()))
def test_common_tag_types_are_our_models(hw_type: int, model_id: str) -> None:
    match = match_tag_type(_info(hw_type), load_hardware_models())
    assert match.model_id == model_id and not match.quarter_turn
    assert match.device_type == f"oepl:{hw_type:02X}"


def test_four_colour_panels_have_no_model_and_say_why() -> None:
    match = match_tag_type(_info(0x6E), load_hardware_models())
    assert match.model_id is None and "red/yellow" in match.reason.replace("black/", "")


def test_a_size_we_lack_has_no_model_and_says_which() -> None:
    match = match_tag_type(_info(0x04), load_hardware_models())  # 2.6" 296x152
    assert match.model_id is None and "296x152 BWR" in match.reason


def test_a_portrait_tag_type_is_our_landscape_model_turned() -> None:
    info = records.TagTypeInfo(0x70, "portrait", 128, 296, 0, 2, {"white": (255,) * 3,
                               "black": (0, 0, 0), "red": (255, 0, 0)})  # fmt: skip
    match = match_tag_type(info, load_hardware_models())
    assert match.model_id == "2.9-bwr" and match.quarter_turn


def test_led_pattern_is_the_firmware_struct() -> None:
    data = bytes.fromhex(led_pattern("red", "fast_blink", 6))
    assert len(data) == 12
    assert data[0] & 0x0F == 1  # mode: flash
    assert data[1] == 0xE0  # red in RGB332
    assert (data[2] & 0x0F, data[2] >> 4) == (3, 1)  # three fast flashes per group
    assert data[10] >= 1  # repeats


def test_longer_seconds_repeat_more() -> None:
    short, long = (bytes.fromhex(led_pattern("green", "blink", s))[10] for s in (2, 60))
    assert long > short


@pytest.mark.parametrize(
    ("colour", "pattern", "seconds", "message"),
    [
        ("purple", "blink", 5, "colour"),
        ("red", "strobe", 5, "pattern"),
        ("red", "blink", 0, "seconds"),
    ],
)
def test_bad_led_requests_say_which_part(
    colour: str, pattern: str, seconds: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        led_pattern(colour, pattern, seconds)
