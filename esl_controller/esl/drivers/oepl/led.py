"""Our LED request as the 12-byte pattern of the AP's `/led_flash?pattern=` (pure).

The bytes are the firmware's `struct ledFlash` (oepl-proto.h): mode and flash duration in
the first byte (low nibble first), then three groups of colour (RGB332), flash count and
speed (a nibble each), and the delay after the group; then how often the sequence repeats.
The firmware counts speed and delay in steps of about 100 ms, so `seconds` is met to
within one sequence.
"""

from __future__ import annotations

from esl_controller.esl.link import LED_COLOURS, LED_MAX_SECONDS, LED_PATTERNS

RGB332 = {
    "red": 0xE0,
    "green": 0x1C,
    "blue": 0x03,
    "yellow": 0xFC,
    "cyan": 0x1F,
    "magenta": 0xE3,
    "white": 0xFF,
}
# pattern -> (flashes per group, speed step, delay steps after the group)
_SHAPES = {
    "solid": (15, 1, 0),
    "blink": (1, 5, 5),
    "fast_blink": (3, 1, 3),
    "pulse": (1, 10, 10),
}
STEP_S = 0.1
FLASH_MODE = 1


def led_pattern(colour: str, pattern: str, seconds: float) -> str:
    """24 hex digits for `/led_flash?pattern=`; ValueError names a bad parameter."""
    if colour not in LED_COLOURS:
        raise ValueError(f"LED colour must be one of {', '.join(LED_COLOURS)}, got {colour!r}")
    if pattern not in LED_PATTERNS:
        raise ValueError(f"LED pattern must be one of {', '.join(LED_PATTERNS)}, got {pattern!r}")
    if not 0 < seconds <= LED_MAX_SECONDS:
        raise ValueError(f"LED seconds must be in (0, {LED_MAX_SECONDS}], got {seconds!r}")
    count, speed, delay = _SHAPES[pattern]
    sequence_s = (count * speed * 2 + delay) * STEP_S
    repeats = max(1, min(255, round(seconds / sequence_s)))
    data = bytes(
        [
            FLASH_MODE | (1 << 4),
            RGB332[colour],
            count | (speed << 4),
            delay,
            0,
            0,
            0,
            0,
            0,
            0,
            repeats,
            0,
        ]
    )
    return data.hex().upper()
