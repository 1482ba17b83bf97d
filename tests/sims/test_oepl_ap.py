"""The emulated OpenEPaperLink AP answers as the firmware's web server does."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from click.testing import CliRunner
from PIL import Image
from websockets.sync.client import connect

from esl_controller.cli import main
from esl_controller.sims.oepl_ap import OeplApEmulator, run_oepl_ap_sim


@pytest.fixture
def ap() -> Iterator[OeplApEmulator]:
    emulator = OeplApEmulator(tags=30, checkin_s=3600.0, hw_types=(0x01, 0x3C)).start()
    yield emulator
    emulator.stop()


def _jpeg(size: tuple[int, int], fill: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    picture = Image.new("RGB", size, (255, 255, 255))
    picture.paste(fill, (10, 10, 40, 40))
    picture.paste((0, 0, 0), (50, 10, 80, 40))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=100, subsampling=0)
    return out.getvalue()


def _upload(ap: OeplApEmulator, mac: str, jpeg: bytes, dither: str = "0") -> requests.Response:
    return requests.post(
        f"{ap.url}/imgupload",
        data={"mac": mac, "dither": dither},
        files={"file": ("x.jpg", jpeg, "image/jpeg")},
        timeout=5,
    )


def test_get_db_pages_with_continu_until_every_tag_is_listed(ap: OeplApEmulator) -> None:
    seen, pos, pages = [], 0, 0
    while True:
        page = requests.get(f"{ap.url}/get_db", params={"pos": pos}, timeout=5).json()
        seen += [tag["mac"] for tag in page["tags"]]
        pages += 1
        if "continu" not in page:
            break
        pos = page["continu"]
    assert seen == ap.macs() and pages > 1
    one = requests.get(f"{ap.url}/get_db", params={"mac": seen[3]}, timeout=5).json()
    assert [tag["mac"] for tag in one["tags"]] == [seen[3]]
    bad = requests.get(f"{ap.url}/get_db", params={"mac": "xyz"}, timeout=5).json()
    assert bad == {"error": "malformatted parameter"}


def test_an_upload_is_pending_until_the_check_in_then_shown(ap: OeplApEmulator) -> None:
    mac = ap.macs()[0]
    answer = _upload(ap, mac, _jpeg((296, 128), (255, 0, 0)))
    assert (answer.status_code, answer.text) == (200, "Ok, saved")
    record = requests.get(f"{ap.url}/get_db", params={"mac": mac}, timeout=5).json()["tags"][0]
    assert record["pending"] == 1 and record["hash"] == "0" * 32 and record["contentMode"] == 24
    ap.check_in_now(mac)
    record = requests.get(f"{ap.url}/get_db", params={"mac": mac}, timeout=5).json()["tags"][0]
    assert record["pending"] == 0 and record["updatecount"] == 1
    assert record["hash"] != "0" * 32 and record["hash"].endswith("0" * 16)  # 8-byte version
    shown = np.asarray(ap.shown(mac))
    assert shown.shape == (128, 296)
    assert (shown[10:40, 10:40] == 2).all() and (shown[10:40, 50:80] == 1).all()
    assert (shown[60:, :] == 0).all()


def test_the_same_image_again_is_not_queued(ap: OeplApEmulator) -> None:
    mac = ap.macs()[0]
    _upload(ap, mac, _jpeg((296, 128)))
    ap.check_in_now(mac)
    assert _upload(ap, mac, _jpeg((296, 128))).status_code == 200
    assert ap.tag(mac).pending == 0


def test_a_yellow_tag_maps_yellow_and_grey_never_becomes_colour(ap: OeplApEmulator) -> None:
    mac = ap.macs()[1]  # 0x3C, 4.2" BWY
    picture = Image.new("RGB", (400, 300), (255, 255, 255))
    picture.paste((250, 250, 10), (0, 0, 50, 50))
    picture.paste((200, 200, 200), (100, 0, 150, 50))  # light grey: white, never yellow
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=100, subsampling=0)
    _upload(ap, mac, out.getvalue())
    ap.check_in_now(mac)
    shown = np.asarray(ap.shown(mac))
    assert (shown[:50, :50] == 2).all() and (shown[:50, 100:150] == 0).all()


def test_come_back_later_while_not_running(ap: OeplApEmulator) -> None:
    ap.faults.busy_uploads = 1
    answer = _upload(ap, ap.macs()[0], _jpeg((296, 128)))
    assert (answer.status_code, answer.text) == (409, "Come back later")
    assert _upload(ap, ap.macs()[0], _jpeg((296, 128))).status_code == 200


def test_commands_answer_as_the_firmware(ap: OeplApEmulator) -> None:
    mac = ap.macs()[0]
    flash = requests.get(f"{ap.url}/led_flash", params={"mac": mac, "pattern": "00" * 12})
    assert (flash.status_code, flash.text) == (200, "ok, request transmitted")
    short = requests.get(f"{ap.url}/led_flash", params={"mac": mac, "pattern": "00"})
    assert (short.status_code, short.text) == (400, "Error: expects 12 hex bytes in pattern")
    cmd = requests.post(f"{ap.url}/tag_cmd", data={"mac": mac, "cmd": "clear"}, timeout=5)
    assert (cmd.status_code, cmd.text) == (200, "Ok, done") and ap.tag(mac).pending == 0
    unknown = requests.post(f"{ap.url}/tag_cmd", data={"mac": "0" * 16, "cmd": "refresh"})
    assert (unknown.status_code, unknown.text) == (400, "Error: mac not found")
    assert requests.post(f"{ap.url}/tag_cmd", data={"mac": mac}).status_code == 500


def test_tag_types_and_sysinfo_are_served(ap: OeplApEmulator) -> None:
    tag_type = requests.get(f"{ap.url}/tagtypes/01.json", timeout=5).json()
    assert (tag_type["width"], tag_type["height"], tag_type["rotatebuffer"]) == (296, 128, 1)
    assert requests.get(f"{ap.url}/tagtypes/EE.json", timeout=5).status_code == 404
    assert "buildversion" in requests.get(f"{ap.url}/sysinfo", timeout=5).json()


def test_the_websocket_pushes_tag_records_and_sys() -> None:
    # Set at construction: the sysinfo loop is already waiting out its interval once started.
    ap = OeplApEmulator(tags=4, checkin_s=3600.0, sysinfo_every_s=0.2).start()
    try:
        _read_tags_and_sys(ap)
    finally:
        ap.stop()


def _read_tags_and_sys(ap: OeplApEmulator) -> None:
    with connect(ap.url.replace("http", "ws") + "/ws", open_timeout=5) as ws:
        ap.check_in_now(ap.macs()[2])
        kinds: set[str] = set()
        for _ in range(100):
            if kinds == {"tags", "sys"}:
                break
            message = json.loads(ws.recv(timeout=5))
            kinds |= set(message) & {"tags", "sys"}
            if "tags" in message:
                assert message["tags"][0]["mac"] == ap.macs()[2]
        assert kinds == {"tags", "sys"}


def test_the_command_line_refuses_bad_arguments() -> None:
    with pytest.raises(SystemExit) as exited:
        run_oepl_ap_sim(["--hw-types", "zz"])
    assert exited.value.code == 2


def test_sim_oepl_ap_is_a_cli_command_with_its_own_help() -> None:
    result = CliRunner().invoke(main, ["sim", "oepl-ap", "--help"])
    assert result.exit_code == 0 and "--checkin" in result.output and "--tags" in result.output
