"""Declarative label templates (`label_templates/*.yaml`), validated when they are loaded.

A template has one layout per label size ("296x128"); one layout serves the BW, BWR and BWY
panels of that size, because elements name ink by role (`black`, `accent`, `white`,
`on_accent`) and the hardware model decides what that role draws. Everything that could make
a label wrong at render time is refused here instead, naming the file and the field: an
unknown element, a box outside the label, a missing font or image, a barcode box that cannot
hold a scannable EAN-13 on some panel of that size, a text box too short for its smallest
font.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_load, validate

from esl_controller.config import Settings
from esl_controller.labels import barcode
from esl_controller.labels.fonts import font_path, get_font
from esl_controller.labels.hardware import (
    HardwareModel,
    display_name,
    flatten_errors,
    load_hardware_models,
    models_by_size,
)
from esl_controller.labels.qr import QUIET_MODULES

COLOURS = ("black", "accent", "white", "on_accent")
ALIGNS = ("left", "center", "right")
VALIGNS = ("top", "middle", "bottom")
TEXT_FIELDS = ("name", "brand", "size_text", "gtin")
STATIC_TYPES = frozenset({"rect", "line", "image", "logo"})
MIN_BARCODE_HEIGHT = 30  # bars plus digits; shorter symbols read badly at an angle
MIN_QR_MODULES = 33 + 2 * QUIET_MODULES  # version 4 (a GS1 Digital Link) at 1 px per module


class TemplateError(ValueError):
    """A template file is unusable, or has no layout for a label; says which and why."""


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass(frozen=True)
class Element:
    """One thing drawn on a label. Options a type does not use keep their defaults."""

    type: str
    box: Box
    colour: str = "black"
    font: str = ""
    size: int = 0  # font size in px (for `price`: the integer units)
    min_size: int = 0  # auto-fit shrinks text down to this size
    max_lines: int = 1
    align: str = "left"
    valign: str = "top"
    field: str = ""  # `text`: which content field it shows
    text: str = ""  # `text`: static text; `prior_price`/`promo_ends`: the lead-in words
    minor_size: int = 0  # `price`: the raised decimals and the currency symbol
    strike_colour: str = "accent"  # `old_price`
    no_history_text: str = ""  # `prior_price` when content has neither number nor note
    # `prior_price`: the amount on its own last line at this size (0: one run of text), so
    # the number stays legible on a small panel while the lead-in words shrink to fit.
    amount_size: int = 0
    in_stock_text: str = "In stock"
    low_text: str = "Low stock"
    out_text: str = "Out of stock"
    restock_text: str = "back {date}"
    date_format: str = ""  # strftime; empty: the label locale's short date
    file: str = ""  # `image` / `logo`: a PNG in the template directory's images/
    fill: bool = True  # `rect`: filled, or an outline `width` px wide
    width: int = 1

    @property
    def is_static(self) -> bool:
        """Drawn once per (layout, model) into the cached background, not per label."""
        return self.type in STATIC_TYPES or (self.type == "text" and not self.field)


@dataclass(frozen=True, eq=False)  # identity equality: layouts key the static-layer cache
class Layout:
    size_key: str
    width: int
    height: int
    elements: tuple[Element, ...]
    fonts_dir: Path
    images_dir: Path

    @cached_property
    def static_elements(self) -> tuple[Element, ...]:
        return tuple(e for e in self.elements if e.is_static)

    @cached_property
    def dynamic_elements(self) -> tuple[Element, ...]:
        return tuple(e for e in self.elements if not e.is_static)


@dataclass(frozen=True, eq=False)
class LabelTemplate:
    name: str  # the file's stem: "price"
    kind: str
    description: str
    source: str  # "label_templates/price.yaml", for messages
    layouts: dict[str, Layout] = field(default_factory=dict)

    def layout_for(self, model: HardwareModel) -> Layout:
        try:
            return self.layouts[model.size_key]
        except KeyError:
            sizes = ", ".join(sorted(self.layouts)) or "none"
            raise TemplateError(
                f"template {self.name!r} has no layout for {model.size_key} "
                f"(hardware model {model.id}); it has: {sizes}"
            ) from None


# ---------------------------------------------------------------- schemas (structure, types)


class _BoxField(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Box:
        if (
            not isinstance(value, list | tuple)
            or len(value) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ValidationError(f"box must be [x, y, w, h] in whole pixels, got {value!r}")
        x, y, w, h = value
        if w <= 0 or h <= 0:
            raise ValidationError(f"box {list(value)} must have a positive width and height")
        return Box(x, y, w, h)


def _size(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=6, max=400), **kw)


class _ElementBase(Schema):
    type = fields.String(required=True)
    box = _BoxField(required=True)
    colour = fields.String(validate=validate.OneOf(COLOURS))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Element:
        return Element(**data)


class _TextLike(_ElementBase):
    font = fields.String(required=True)
    size = _size(required=True)
    min_size = _size()
    align = fields.String(validate=validate.OneOf(ALIGNS))
    valign = fields.String(validate=validate.OneOf(VALIGNS))


class _TextSchema(_TextLike):
    field = fields.String(validate=validate.OneOf(TEXT_FIELDS))
    text = fields.String(validate=validate.Length(min=1))
    max_lines = fields.Integer(strict=True, validate=validate.Range(min=1, max=10))


class _NameSchema(_TextLike):
    max_lines = fields.Integer(strict=True, validate=validate.Range(min=1, max=10))


class _PriceSchema(_TextLike):
    minor_size = _size()


class _UnitPriceSchema(_TextLike):
    pass


class _OldPriceSchema(_TextLike):
    strike_colour = fields.String(validate=validate.OneOf(COLOURS))


class _PriorPriceSchema(_TextLike):
    text = fields.String()
    no_history_text = fields.String()
    max_lines = fields.Integer(strict=True, validate=validate.Range(min=1, max=4))
    amount_size = _size()


class _PromoEndsSchema(_TextLike):
    text = fields.String()
    date_format = fields.String()


class _StockBadgeSchema(_TextLike):
    max_lines = fields.Integer(strict=True, validate=validate.Range(min=1, max=3))
    in_stock_text = fields.String()
    low_text = fields.String()
    out_text = fields.String()
    restock_text = fields.String()
    date_format = fields.String()


class _BarcodeSchema(_ElementBase):
    font = fields.String(required=True)
    size = _size(required=True)


class _QrSchema(_ElementBase):
    pass


class _ImageSchema(_ElementBase):
    file = fields.String(required=True, validate=validate.Length(min=1))


class _RectSchema(_ElementBase):
    fill = fields.Boolean()
    width = fields.Integer(strict=True, validate=validate.Range(min=1, max=50))


class _LineSchema(_ElementBase):
    pass


_ELEMENT_SCHEMAS: dict[str, type[_ElementBase]] = {
    "text": _TextSchema,
    "name": _NameSchema,
    "price": _PriceSchema,
    "unit_price": _UnitPriceSchema,
    "old_price": _OldPriceSchema,
    "prior_price": _PriorPriceSchema,
    "promo_ends": _PromoEndsSchema,
    "stock_badge": _StockBadgeSchema,
    "barcode": _BarcodeSchema,
    "qr": _QrSchema,
    "image": _ImageSchema,
    "logo": _ImageSchema,
    "rect": _RectSchema,
    "line": _LineSchema,
}
ELEMENT_TYPES = tuple(_ELEMENT_SCHEMAS)

_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "name": {"max_lines": 2},
    "prior_price": {
        "max_lines": 2,
        "text": "Lowest price 30 days before: ",
        "no_history_text": "Not enough price history to show the prior price",
    },
    "promo_ends": {"text": "Offer ends {date}"},
    "price": {"valign": "middle"},
}


class _ElementField(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Element:
        if not isinstance(value, dict):
            raise ValidationError(f"an element must be a mapping, got {value!r}")
        kind = value.get("type")
        if not isinstance(kind, str) or kind not in _ELEMENT_SCHEMAS:
            raise ValidationError(
                {
                    "type": [
                        f"unknown element type {kind!r}; expected one of {', '.join(ELEMENT_TYPES)}"
                    ]
                }
            )
        schema = _ELEMENT_SCHEMAS[kind]
        merged = {**_TYPE_DEFAULTS.get(kind, {}), **value}
        if kind == "text" and ("field" in value) == ("text" in value):
            raise ValidationError({"field": ["a text element needs exactly one of field or text"]})
        if "size" in merged and "min_size" not in merged and kind != "barcode":
            merged["min_size"] = merged["size"]
        return schema().load(merged)


class _LayoutSchema(Schema):
    elements = fields.List(_ElementField(), required=True, validate=validate.Length(min=1))


class _TemplateSchema(Schema):
    kind = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    description = fields.String(load_default="")
    layouts = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(r"^\d+x\d+$", error="size must be WIDTHxHEIGHT")
        ),
        values=fields.Nested(_LayoutSchema),
        required=True,
        validate=validate.Length(min=1),
    )


# ------------------------------------------------ semantic checks (label size, files, fonts)


def _check_element(
    element: Element, width: int, height: int, layout: Layout, sized: list[HardwareModel]
) -> list[tuple[str, str]]:
    """(field, message) for everything wrong with one element on a width x height label."""
    problems: list[tuple[str, str]] = []
    box = element.box
    if box.x < 0 or box.y < 0 or box.right > width or box.bottom > height:
        problems.append(
            ("box", f"box [{box.x}, {box.y}, {box.w}, {box.h}] reaches outside the "
             f"{width}x{height} label")
        )  # fmt: skip
    if element.font:
        try:
            font_path(element.font, layout.fonts_dir)
        except FileNotFoundError as exc:
            problems.append(("font", str(exc)))
            return problems
    if element.min_size > element.size:
        problems.append(("min_size", f"min_size {element.min_size} exceeds size {element.size}"))
    elif element.font and element.type not in ("barcode", "price"):
        ascent, descent = get_font(element.font, element.min_size, layout.fonts_dir).getmetrics()
        if ascent + descent > box.h:
            problems.append(
                ("min_size", f"one line at {element.min_size} px needs {ascent + descent} px, "
                 f"box is {box.h} px high")
            )  # fmt: skip
    if element.amount_size and element.font:
        ascent, descent = get_font(element.font, element.amount_size, layout.fonts_dir).getmetrics()
        lead_in = get_font(element.font, element.min_size, layout.fonts_dir).getmetrics()
        if ascent + descent + sum(lead_in) > box.h:
            problems.append(
                ("amount_size", f"the amount's line at {element.amount_size} px and one line of "
                 f"lead-in at {element.min_size} px need {ascent + descent + sum(lead_in)} px, "
                 f"box is {box.h} px high")
            )  # fmt: skip
    if element.type == "barcode":
        problems += _check_barcode(element, sized)
    if element.type == "qr" and min(box.w, box.h) < MIN_QR_MODULES:
        problems.append(("box", f"a QR code needs at least {MIN_QR_MODULES}x{MIN_QR_MODULES} px"))
    if element.type in ("image", "logo") and not (layout.images_dir / element.file).is_file():
        problems.append(("file", f"image {element.file!r} not found in {layout.images_dir}"))
    return problems


def _check_barcode(element: Element, sized: list[HardwareModel]) -> list[tuple[str, str]]:
    box = element.box
    if box.h < MIN_BARCODE_HEIGHT:
        return [("box", f"a barcode needs at least {MIN_BARCODE_HEIGHT} px height, box is {box.h}")]
    problems = []
    for model in sized:
        if barcode.module_width_px(box.w, model.px_per_mm) is None:
            smallest, _ = barcode.module_px_range(model.px_per_mm)
            problems.append(
                ("box", f"an EAN-13 needs {barcode.TOTAL_MODULES} modules x {smallest} px = "
                 f"{barcode.TOTAL_MODULES * smallest} px (module >= {barcode.MIN_MODULE_MM} mm "
                 f"at {model.px_per_mm} px/mm on {model.id}), box is {box.w} px wide")
            )  # fmt: skip
    return problems


def _build_layout(
    key: str, raw: dict[str, Any], directory: Path, by_size: dict[str, list[HardwareModel]]
) -> tuple[Layout, list[str]]:
    width, height = (int(v) for v in key.split("x"))
    layout = Layout(
        size_key=key,
        width=width,
        height=height,
        elements=tuple(raw["elements"]),
        fonts_dir=directory / "fonts",
        images_dir=directory / "images",
    )
    if key not in by_size:
        known = ", ".join(sorted(by_size))
        return layout, [f"layouts.{key}: no hardware model is {key} (known sizes: {known})"]
    errors = []
    for index, element in enumerate(layout.elements):
        for name, message in _check_element(element, width, height, layout, by_size[key]):
            errors.append(f"layouts.{key}.elements[{index}].{name}: {message}")
    return layout, errors


def parse_template(raw: Any, path: Path, models: dict[str, HardwareModel]) -> LabelTemplate:
    """Validate one template's parsed YAML; `path` locates its fonts/ and images/."""
    source = display_name(path)
    try:
        data = _TemplateSchema().load(raw if raw is not None else {})
    except ValidationError as exc:
        lines = flatten_errors(exc.messages)
        raise TemplateError("\n".join(f"{source}: {line}" for line in lines)) from None
    by_size = models_by_size(models)
    layouts: dict[str, Layout] = {}
    errors: list[str] = []
    for key, raw_layout in data["layouts"].items():
        layouts[key], layout_errors = _build_layout(key, raw_layout, path.parent, by_size)
        errors += layout_errors
    if errors:
        raise TemplateError("\n".join(f"{source}: {m}" for m in errors))
    return LabelTemplate(
        name=path.stem,
        kind=data["kind"],
        description=data["description"],
        source=source,
        layouts=layouts,
    )


def load_template(path: Path, models: dict[str, HardwareModel] | None = None) -> LabelTemplate:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError(f"{display_name(path)}: template file not found") from exc
    except yaml.YAMLError as exc:
        raise TemplateError(f"{display_name(path)}: not valid YAML: {exc}") from exc
    return parse_template(raw, path, models if models is not None else load_hardware_models())


def load_templates(
    directory: Path | None = None, models: dict[str, HardwareModel] | None = None
) -> dict[str, LabelTemplate]:
    """Every template in `directory` (default: settings.templates_dir) by name ("price")."""
    if models is None:
        own_hardware = directory / "hardware.yaml" if directory else None
        models = load_hardware_models(
            own_hardware if own_hardware and own_hardware.is_file() else None
        )
    directory = directory or Settings.from_env().templates_dir
    templates = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "hardware.yaml":
            continue
        template = load_template(path, models)
        templates[template.name] = template
    if not templates:
        raise TemplateError(f"{directory}: no label templates (*.yaml) found")
    return templates
