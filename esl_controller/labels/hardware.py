"""Label hardware models as data: `label_templates/hardware.yaml`, validated on load.

A model says what the panel can show (size, colour table, orientation of its scan lines) and
how big its pixels are, because barcodes must be drawn in physical units (GS1 module width).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_load, validate

from esl_controller.config import Settings

COLOUR_MODES = ("BW", "BWR", "BWY")
WHITE, BLACK, ACCENT = 0, 1, 2  # palette indices, the same on every model

RGB = tuple[int, int, int]


class HardwareError(ValueError):
    """The hardware file is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class HardwareModel:
    id: str
    name: str
    width: int  # pixels, display orientation
    height: int
    colour_mode: str  # BW | BWR | BWY
    rotation: int  # clockwise degrees from display to panel scan orientation
    diagonal_in: float
    px_per_mm: float
    colour_table: tuple[RGB, ...]  # RGB per palette index: white, black[, accent]
    led: bool = False
    nfc: bool = False
    buttons: int = 0
    pages: int = 1
    bits_per_pixel: int = 1  # per plane; BWR/BWY send a second (accent) plane

    @property
    def size_key(self) -> str:
        """The key templates use for their layouts, e.g. "296x128"."""
        return f"{self.width}x{self.height}"

    @property
    def has_accent(self) -> bool:
        return self.colour_mode != "BW"

    @property
    def planes(self) -> int:
        return 2 if self.has_accent else 1

    @property
    def palette(self) -> tuple[RGB, ...]:
        """RGB for index 0 white, 1 black and (BWR/BWY) 2 the accent colour."""
        return self.colour_table

    @property
    def flat_palette(self) -> list[int]:
        """The palette as Pillow's `putpalette` wants it."""
        return [channel for rgb in self.colour_table for channel in rgb]

    @property
    def accent_index(self) -> int:
        """Where `accent` ink goes: the accent plane, or black on a BW panel."""
        return ACCENT if self.has_accent else BLACK

    @property
    def on_accent_index(self) -> int:
        """Readable ink on an accent fill: white on dark accents (red, black), black on yellow."""
        r, g, b = self.colour_table[self.accent_index]
        luminance = 0.299 * r + 0.587 * g + 0.114 * b
        return BLACK if luminance > 140 else WHITE


_rgb = fields.List(
    fields.Integer(validate=validate.Range(0, 255)), validate=validate.Length(equal=3)
)


class _ModelSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9.\-]*$"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    width = fields.Integer(required=True, strict=True, validate=validate.Range(min=8, max=4096))
    height = fields.Integer(required=True, strict=True, validate=validate.Range(min=8, max=4096))
    colour_mode = fields.String(required=True, validate=validate.OneOf(COLOUR_MODES))
    bits_per_pixel = fields.Integer(load_default=1, validate=validate.Equal(1))
    rotation = fields.Integer(required=True, validate=validate.OneOf((0, 90, 180, 270)))
    diagonal_in = fields.Float(required=True, validate=validate.Range(min=0.5, max=50))
    active_area_mm = fields.List(
        fields.Float(validate=validate.Range(min=1, min_inclusive=True)),
        required=True,
        validate=validate.Length(equal=2),
    )
    led = fields.Boolean(load_default=False)
    nfc = fields.Boolean(load_default=False)
    buttons = fields.Integer(load_default=0, validate=validate.Range(min=0, max=8))
    pages = fields.Integer(load_default=1, validate=validate.Range(min=1, max=32))


class _HardwareFileSchema(Schema):
    colour_tables = fields.Dict(
        keys=fields.String(validate=validate.OneOf(COLOUR_MODES)),
        values=fields.List(_rgb, validate=validate.Length(min=2, max=3)),
        required=True,
    )
    models = fields.List(
        fields.Nested(_ModelSchema), required=True, validate=validate.Length(min=1)
    )

    @post_load
    def _check_tables(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        tables = data["colour_tables"]
        for mode in COLOUR_MODES:
            want = 2 if mode == "BW" else 3
            if mode not in tables:
                raise ValidationError(f"colour table for {mode} missing", "colour_tables")
            if len(tables[mode]) != want:
                raise ValidationError(
                    f"{mode} needs {want} colours (white, black{', accent' if want == 3 else ''})",
                    "colour_tables",
                )
        return data


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict as `path: message` lines (`layouts.296x128.elements[3]`)."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            if key == "value":  # marshmallow's marker for a dict value's errors
                out += flatten_errors(value, prefix)
            elif isinstance(key, int):
                out += flatten_errors(value, f"{prefix}[{key}]")
            else:
                out += flatten_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {'; '.join(messages)}"]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten_errors(m, prefix)]
    return [f"{prefix}: {messages}"]


def display_name(path: Path) -> str:
    """How errors name a file: its folder and name, e.g. `label_templates/promo.yaml`."""
    return f"{path.parent.name}/{path.name}"


def parse_hardware_models(raw: Any, source: str = "hardware.yaml") -> dict[str, HardwareModel]:
    """Validate already-parsed YAML; errors read `source: models[2].rotation: ...`."""
    try:
        data = _HardwareFileSchema().load(raw if raw is not None else {})
    except ValidationError as exc:
        lines = flatten_errors(exc.messages)
        raise HardwareError("\n".join(f"{source}: {line}" for line in lines)) from None
    models: dict[str, HardwareModel] = {}
    tables = data["colour_tables"]
    for index, item in enumerate(data["models"]):
        if item["id"] in models:
            raise HardwareError(f"{source}: models[{index}].id: duplicate id {item['id']!r}")
        area_w, _area_h = item.pop("active_area_mm")
        models[item["id"]] = HardwareModel(
            **item,
            px_per_mm=round(item["width"] / area_w, 4),
            colour_table=tuple(tuple(rgb) for rgb in tables[item["colour_mode"]]),
        )
    return models


def load_hardware_models(path: Path | None = None) -> dict[str, HardwareModel]:
    """All hardware models by id. Without `path`, the (cached) file in the templates dir."""
    if path is None:
        return _load_default(Settings.from_env().templates_dir / "hardware.yaml")
    return _load(path)


@lru_cache(maxsize=4)
def _load_default(path: Path) -> dict[str, HardwareModel]:
    return _load(path)


def _load(path: Path) -> dict[str, HardwareModel]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HardwareError(f"{path}: hardware file not found") from exc
    except yaml.YAMLError as exc:
        raise HardwareError(f"{display_name(path)}: not valid YAML: {exc}") from exc
    return parse_hardware_models(raw, display_name(path))


def models_by_size(models: dict[str, HardwareModel]) -> dict[str, list[HardwareModel]]:
    """Hardware models grouped by their layout key ("296x128")."""
    grouped: dict[str, list[HardwareModel]] = {}
    for model in models.values():
        grouped.setdefault(model.size_key, []).append(model)
    return grouped
