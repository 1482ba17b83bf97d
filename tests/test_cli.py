from __future__ import annotations

from click.testing import CliRunner
from PIL import Image

from esl_controller.cli import main
from esl_controller.clock import utcnow
from esl_controller.demo_data import demo_catalogue


def test_render_writes_the_preview_of_a_demo_product_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "empty"))
    gtin = demo_catalogue("store-1", now=utcnow()).products[0].gtin
    out = tmp_path / "label.png"
    result = CliRunner().invoke(
        main,
        ["render", "--product", gtin, "--template", "price", "--model", "2.9-bwr", "--out", out],
    )
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert image.size == (296, 128)
    colours = {colour for _count, colour in image.convert("RGB").getcolors(16)}
    assert (255, 255, 255) in colours and (0, 0, 0) in colours


def test_render_of_an_unknown_gtin_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(
        main, ["render", "--product", "4006381333931", "--out", tmp_path / "x.png"]
    )
    assert result.exit_code != 0
    assert "no product with GTIN 4006381333931" in result.output


def test_user_add_refuses_a_short_password_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["user", "add", "alice", "--password", "short"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "password" in result.output.lower()


def test_an_unreadable_setting_is_an_error_naming_it_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    for variable, value, words in (
        ("ESL_ERP_FEED_SCOPE", "regio", "ESL_ERP_FEED_SCOPE must be store"),
        ("ESL_SYNC_INTERVAL", "often", "ESL_SYNC_INTERVAL must be a number, got 'often'"),
    ):
        monkeypatch.setenv(variable, value)
        result = CliRunner().invoke(main, ["sync"])
        monkeypatch.delenv(variable)
        assert result.exit_code == 1, result.output
        assert f"Error: {words}" in result.output
        assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
