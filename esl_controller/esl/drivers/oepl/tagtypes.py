"""Which of our hardware models an OpenEPaperLink tag type is, and how to draw for it.

Pure. The AP describes each tag type in `/tagtypes/XX.json` (the firmware's
resources/tagtypes): the picture size it wants, bits per pixel and ink colours. A tag type
is our model when the picture size matches the model's display size (or the same turned
a quarter) and the inks give the same colour mode. Anything else (four-colour panels, a
size we have no model for) is reported with `model=None` so the core records an incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from esl_controller.esl.drivers.oepl.records import TagTypeInfo
from esl_controller.labels.hardware import HardwareModel

ACCENT_NAMES = {"BWR": "red", "BWY": "yellow"}


@dataclass(frozen=True)
class TagTypeMatch:
    """Our model for a tag type, and how our image becomes the AP's picture."""

    hw_type: int
    model_id: str | None
    reason: str  # why there is no model (empty when there is one)
    width: int  # the picture the AP wants
    height: int
    quarter_turn: bool  # our display image must be turned 90 degrees clockwise
    accent_rgb: tuple[int, int, int] | None  # the tag type's own accent ink
    # Our hardware model, whose panel orientation the outbox's planes are in.
    model: HardwareModel | None = None

    @property
    def device_type(self) -> str:
        return f"oepl:{self.hw_type:02X}"


def colour_mode(info: TagTypeInfo) -> str | None:
    """BW, BWR or BWY from the tag type's inks, or None (four colours, greys, TFT)."""
    inks = set(info.colortable)
    if not {"white", "black"} <= inks:
        return None
    if info.bpp == 1:
        return "BW"  # one plane: whatever else the table lists cannot be shown
    if info.bpp != 2:
        return None
    extra = inks - {"white", "black"}
    if not extra:
        return "BW"
    if extra == {"red"}:
        return "BWR"
    if extra == {"yellow"}:
        return "BWY"
    return None


def match_tag_type(info: TagTypeInfo, models: Mapping[str, HardwareModel]) -> TagTypeMatch:
    """The first model (in hardware-file order) of the same size and colour mode."""
    mode = colour_mode(info)
    accent = ACCENT_NAMES.get(mode or "")
    accent_rgb = info.colortable.get(accent) if accent else None
    base = dict(hw_type=info.hw_type, width=info.width, height=info.height, accent_rgb=accent_rgb)
    if mode is None:
        inks = "/".join(info.colortable) or "none"
        return TagTypeMatch(
            model_id=None,
            reason=f"tag type {info.hw_type:02X} ({info.name}) has inks {inks} at {info.bpp} bpp",
            quarter_turn=False,
            **base,
        )
    for turned in (False, True):
        size = (info.height, info.width) if turned else (info.width, info.height)
        for model in models.values():
            if (model.width, model.height) == size and model.colour_mode == mode:
                return TagTypeMatch(
                    model_id=model.id, reason="", quarter_turn=turned, model=model, **base
                )
    return TagTypeMatch(
        model_id=None,
        reason=(
            f"no hardware model is {info.width}x{info.height} {mode} "
            f"(tag type {info.hw_type:02X}, {info.name})"
        ),
        quarter_turn=False,
        **base,
    )


def unknown_tag_type(hw_type: int, why: str) -> TagTypeMatch:
    return TagTypeMatch(hw_type, None, why, 0, 0, False, None)
