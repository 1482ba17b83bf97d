"""Label render throughput on one core, and what the images weigh.

    .venv/bin/python bench/bench_render.py [-n 5000] [--previews /tmp/esl-previews]

Renders N distinct 296x128 BWR price labels with barcodes (every label a different product
name, GTIN and price, so no per-content cache helps) and prints labels/s for render only and
for render + encode (pack to planes + the MQTT frame). Then writes PNG previews
of every template x size x colour mode, and of Cyrillic, Greek and Romanian labels.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import PIL
from PIL import Image

from esl_controller.labels.barcode import gtin_check_digit
from esl_controller.labels.content import LabelContent, Money, PromoInfo, StockInfo, UnitPrice
from esl_controller.labels.hardware import HardwareModel, load_hardware_models
from esl_controller.labels.preview import write_preview
from esl_controller.labels.render import panel_image, render_label
from esl_controller.labels.templates import load_templates

WORDS = (
    "Lapte integral", "Brânză telemea", "Iaurt grecesc", "Pâine albă feliată", "Suc de portocale",
    "Cafea măcinată", "Ciocolată neagră 70%", "Ulei de floarea-soarelui", "Ouă de găină mărimea M",
    "Apă minerală carbogazoasă", "Smântână 20% grăsime", "Șuncă presată", "Țuică de prune",
)  # fmt: skip


def make_content(index: int) -> LabelContent:
    body = f"594{index:09d}"
    gtin = body + str(gtin_check_digit(body))
    name = f"{WORDS[index % len(WORDS)]} {WORDS[(index * 7) % len(WORDS)].lower()} {index}"
    return LabelContent(
        gtin=gtin,
        name=name,
        brand=("Zuzu", "Napolact", "Olympus", "Dorna", "Jacobs")[index % 5],
        price=Money(99 + (index * 37) % 9900, "RON"),
        locale="ro_RO",
        unit_price=UnitPrice(
            Money(199 + (index * 53) % 9900, "RON"), ("kg", "l", "piece")[index % 3]
        ),
        promo=None,
        stock=StockInfo("in_stock", 10, None),
        digital_link=f"https://id.gs1.org/01/0{gtin}",
        size_text=("500 g", "1 l", "10 buc.", "250 g")[index % 4],
    )


def pick_encoder() -> tuple[str, Callable[[Image.Image, HardwareModel], bytes]]:
    """Pack to planes (what the outbox keeps), then the MQTT driver's frame header.

    Falls back to the layout of releases before the station seam, so the same script
    measures an older checkout side by side."""
    try:
        planes = importlib.import_module("esl_controller.labels.planes")
        protocol = importlib.import_module("esl_controller.esl.drivers.mqtt.protocol")
        pack, frame_bytes = planes.pack_image, protocol.frame_bytes
        name = "panel_image + labels.planes.pack_image + MQTT frame_bytes"
    except ImportError:
        protocol = importlib.import_module("esl_controller.esl.protocol")
        pack, frame_bytes = protocol.encode_image, protocol.frame_bytes
        name = "panel_image + esl.protocol.encode_image + frame_bytes"

    def encode(image: Image.Image, model: HardwareModel) -> bytes:
        return frame_bytes(pack(panel_image(image, model), model.colour_mode), 1)

    return name, encode


def run(count: int) -> None:
    models = load_hardware_models()
    templates = load_templates(models=models)
    model, template = models["2.9-bwr"], templates["price"]
    contents = [make_content(i) for i in range(count)]
    fresh = [make_content(i) for i in range(count, 2 * count)]  # no text cache hits from pass 1
    render_label(template, contents[0], model)  # warm the static layer and fonts
    encoder_name, encode = pick_encoder()

    # Images are dropped as soon as they are made: a render pool streams them to the outbox.
    started = time.perf_counter()
    for content in contents:
        render_label(template, content, model)
    render_s = time.perf_counter() - started

    started = time.perf_counter()
    frame_sizes = [len(encode(render_label(template, content, model), model)) for content in fresh]
    both_s = time.perf_counter() - started

    png_sizes = []
    for content in contents[:: max(1, count // 200)]:
        buffer = io.BytesIO()
        render_label(template, content, model).save(buffer, format="PNG", optimize=True)
        png_sizes.append(len(buffer.getvalue()))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, Pillow {PIL.__version__}; one core")  # fmt: skip
    print(f"{count} distinct 296x128 BWR price labels with EAN-13 barcode")
    per_label_us = render_s / count * 1e6
    print(f"render only:       {count / render_s:8.0f} labels/s ({per_label_us:.0f} µs each)")
    per_label_us = both_s / count * 1e6
    print(f"render + encode:   {count / both_s:8.0f} labels/s ({per_label_us:.0f} µs each)")
    print(f"  encoder:         {encoder_name}")
    print(f"encoded frame:     {sum(frame_sizes) / len(frame_sizes):8.0f} bytes mean")
    print(f"palette PNG:       {sum(png_sizes) / len(png_sizes):8.0f} bytes mean")
    print(f"raw 1-bit planes:  {model.width * model.height * model.planes // 8:8d} bytes")


def frame_sizes_by_model(count: int = 200) -> None:
    """Mean wire-frame bytes of a price label on every panel the price template covers."""
    models = load_hardware_models()
    template = load_templates(models=models)["price"]
    _name, encode = pick_encoder()
    print(f"mean encoded frame per panel ({count} distinct price labels each):")
    for model in sorted(models.values(), key=lambda m: (m.width * m.height, m.id)):
        if model.size_key not in template.layouts:
            continue
        sizes = [len(encode(render_label(template, make_content(i), model), model))
                 for i in range(count)]  # fmt: skip
        raw = model.width * model.height * model.planes // 8
        print(f"  {model.id:10s} {model.size_key:>8s}: {sum(sizes) / count:7.0f} bytes "
              f"(raw planes ~{raw} bytes)")  # fmt: skip


def write_previews(directory: Path) -> int:
    models = load_hardware_models()
    templates = load_templates(models=models)
    base = make_content(3)
    promo = PromoInfo(was=Money(999, "RON"), prior_lowest=Money(899, "RON"), prior_note=None,
                      ends=date(2025, 3, 31))  # fmt: skip
    cases = {
        "price": base,
        "promo": LabelContent(**{**base.__dict__, "promo": promo}),
        "stock": LabelContent(**{**base.__dict__, "stock": StockInfo("out", 0, date(2025, 4, 2))}),
    }
    written = 0
    for name, template in templates.items():
        for model in models.values():
            if model.size_key in template.layouts:
                image = render_label(template, cases.get(name, base), model)
                write_preview(directory / f"{name}-{model.id}.png", image, model)
                written += 1
    scripts = {
        "ru": replace(
            base,
            name="Молоко цельное пастеризованное 3,2% жирности",
            brand="Простоквашино",
            locale="ru_RU",
            price=Money(8990, "RUB"),
            unit_price=UnitPrice(Money(8990, "RUB"), "l"),
        ),
        "el": replace(
            base,
            name="Ελαιόλαδο έξτρα παρθένο Κρήτης 1 λίτρο",
            brand="Μινέρβα",
            locale="el_GR",
            price=Money(1299, "EUR"),
            unit_price=UnitPrice(Money(1299, "EUR"), "l"),
        ),
        "ro": replace(
            base,
            name="Brânză telemea de vacă maturată în saramură, ambalată în vid, "
            "ediție specială de sărbători",
        ),
        "pl": replace(
            base,
            name="Żółty ser gouda plastry",
            brand="Łaciate",
            locale="pl_PL",
            price=Money(1249, "PLN"),
            unit_price=UnitPrice(Money(8327, "PLN"), "kg"),
        ),
    }
    for tag, content in scripts.items():
        for model_id in ("2.9-bwr", "4.2-bw", "1.54-bwr"):
            model = models[model_id]
            image = render_label(templates["price"], content, model)
            write_preview(directory / f"script-{tag}-{model_id}.png", image, model)
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=5000)
    parser.add_argument("--previews", type=Path, default=Path("/tmp/esl-previews"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised
    run(args.count)
    frame_sizes_by_model()
    written = write_previews(args.previews)
    print(f"previews:          {written} PNGs in {args.previews}")


if __name__ == "__main__":
    main()
