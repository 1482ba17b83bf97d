"""A store's own label templates folder: the bundled set plus one that fits 7.5" panels only."""

from __future__ import annotations

from pathlib import Path

import yaml

from esl_controller.config import PROJECT_ROOT

BUNDLED = PROJECT_ROOT / "label_templates"
POSTER_ONLY = "shop_window"  # a template with a layout for 800x480 and nothing else
FITS_2_9 = "auto, not_for_sale, price, promo, stock"  # what a 2.9" label may use there


def own_templates_dir(root: Path) -> Path:
    """`root`/label_templates: every bundled file linked, and `POSTER_ONLY` beside them."""
    directory = root / "label_templates"
    directory.mkdir()
    for entry in BUNDLED.iterdir():
        (directory / entry.name).symlink_to(entry)
    price = yaml.safe_load((BUNDLED / "price.yaml").read_text(encoding="utf-8"))
    poster = {"kind": "price", "layouts": {"800x480": price["layouts"]["800x480"]}}
    (directory / f"{POSTER_ONLY}.yaml").write_text(yaml.safe_dump(poster), encoding="utf-8")
    return directory
