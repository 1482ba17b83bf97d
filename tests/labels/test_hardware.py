from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from esl_controller.labels.hardware import (
    HardwareError,
    HardwareModel,
    load_hardware_models,
    parse_hardware_models,
)
from esl_controller.labels.templates import load_templates

REQUIRED = {
    "152x152": {"BW", "BWR"},
    "250x122": {"BW", "BWR", "BWY"},
    "256x128": {"BWR"},
    "296x128": {"BW", "BWR", "BWY"},
    "400x300": {"BW", "BWR", "BWY"},
    "800x480": {"BW", "BWR"},
}


def test_common_panels_are_described(models: dict[str, HardwareModel]) -> None:
    present: dict[str, set[str]] = {}
    for model in models.values():
        present.setdefault(model.size_key, set()).add(model.colour_mode)
    for size, modes in REQUIRED.items():
        assert modes <= present.get(size, set()), size


@pytest.mark.parametrize(
    ("model_id", "px_per_mm"),
    [("2.9-bwr", 4.42), ("2.13-bw", 5.15), ("1.54-bw", 5.51), ("4.2-bwr", 4.72), ("7.5-bw", 4.90)],
)
def test_pixel_pitch_comes_from_the_physical_size(
    models: dict[str, HardwareModel], model_id: str, px_per_mm: float
) -> None:
    assert models[model_id].px_per_mm == pytest.approx(px_per_mm, abs=0.01)


def test_palette_per_colour_mode(models: dict[str, HardwareModel]) -> None:
    bw, bwr, bwy = models["2.9-bw"], models["2.9-bwr"], models["2.9-bwy"]
    assert bw.palette == ((255, 255, 255), (0, 0, 0))
    assert bwr.palette[:2] == bw.palette and len(bwr.palette) == 3
    red, yellow = bwr.palette[2], bwy.palette[2]
    assert red[0] > 150 and red[1] < 60 and red[2] < 60
    assert yellow[0] > 200 and yellow[1] > 150 and yellow[2] < 60
    assert (bw.planes, bwr.planes) == (1, 2)
    assert bw.accent_index == 1 and bwr.accent_index == 2  # accent draws black on BW
    assert bwr.on_accent_index == 0 and bwy.on_accent_index == 1  # white on red, black on yellow


def test_every_model_is_served_by_the_price_template(models: dict[str, HardwareModel]) -> None:
    price = load_templates(models=models)["price"]
    for model in models.values():
        assert price.layout_for(model).size_key == model.size_key


def _valid() -> dict:
    return {
        "colour_tables": {
            "BW": [[255, 255, 255], [0, 0, 0]],
            "BWR": [[255, 255, 255], [0, 0, 0], [200, 0, 0]],
            "BWY": [[255, 255, 255], [0, 0, 0], [240, 200, 0]],
        },
        "models": [
            {"id": "x-bw", "name": "X", "width": 296, "height": 128, "colour_mode": "BW",
             "rotation": 90, "diagonal_in": 2.9, "active_area_mm": [66.9, 29.1]},
        ],
    }  # fmt: skip


def test_parse_builds_models() -> None:
    (model,) = parse_hardware_models(_valid()).values()
    assert (model.width, model.height, model.rotation, model.pages) == (296, 128, 90, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["models"][0].update(rotation=45), r"models\[0\]\.rotation"),
        (lambda d: d["models"][0].update(colour_mode="RGB"), r"models\[0\]\.colour_mode"),
        (lambda d: d["models"][0].pop("width"), r"models\[0\]\.width"),
        (lambda d: d["models"].append(dict(d["models"][0])), r"models\[1\]\.id: duplicate"),
        (lambda d: d["colour_tables"].pop("BWY"), "colour table for BWY missing"),
        (lambda d: d["models"][0].update(surprise=1), r"models\[0\]\.surprise"),
    ],
)
def test_bad_hardware_file_names_file_and_field(tmp_path: Path, change, message: str) -> None:
    data = _valid()
    change(data)
    path = tmp_path / "hardware.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(HardwareError, match=message) as info:
        load_hardware_models(path)
    assert str(info.value).startswith(f"{tmp_path.name}/hardware.yaml: ")
