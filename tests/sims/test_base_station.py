from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from esl_controller.config import Settings
from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.labels.planes import pack_image
from esl_controller.sims.base_station import BaseStationSim, run_base_station_sim, station_names
from tests.sims.conftest import Listener, eventually

pytestmark = pytest.mark.mqtt

MakeSim = Callable[..., BaseStationSim]


def frame(seq: int, mark: int = 0) -> bytes:
    """A 16x8 BWR frame: black top-left pixel, accent pixel at (mark, 7)."""
    image = Image.new("P", (16, 8), 0)
    image.putpixel((0, 0), 1)
    image.putpixel((mark, 7), 2)
    return protocol.frame_bytes(pack_image(image, "BWR"), seq)


def states(listener: Listener) -> list[str]:
    return [status.state for status in listener.statuses()]


def send_image(
    listener: Listener, settings: Settings, store: str, label: str, data: bytes, station="bs-01"
) -> None:
    listener.publish(protocol.image_topic(settings.topic_prefix, store, station, label), data)


def test_station_announces_itself_online_retained(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    make_sim(["bs-01", "bs-02"])
    assert listener.wait_for(lambda: len(listener.statuses()) >= 2)
    assert {status.state for status in listener.statuses()} == {"online"}
    late = Listener(
        settings.mqtt_url, [protocol.status_topic(settings.topic_prefix, store, "bs-02")]
    )
    try:
        assert late.wait_for(lambda: bool(late.messages))
        _topic, payload, retained = late.messages[0]
        assert retained
        assert protocol.parse_status(payload).firmware == "sim-1.0"
    finally:
        late.close()


def test_a_frame_is_acked_with_its_seq_and_written_as_png(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str, tmp_path: Path
) -> None:
    sim = make_sim(image_dir=tmp_path / "images", battery=77)
    data = frame(seq=41, mark=5)
    send_image(listener, settings, store, "L-1", data)

    assert listener.wait_for(lambda: len(listener.acks()) == 1)
    ack = listener.acks()[0]
    assert (ack.label, ack.seq, ack.status, ack.kind, ack.battery) == ("L-1", 41, "ok", "image", 77)
    assert -120 <= ack.signal <= 0
    assert sim.shown("bs-01", "L-1") == (41, protocol.decode_frame(data).content_hash)
    png = Image.open(tmp_path / "images" / "bs-01" / "L-1.png")
    assert png.mode == "RGB"
    assert png.getpixel((0, 0)) == (0, 0, 0)
    assert png.getpixel((5, 7)) == (200, 0, 0)
    assert png.getpixel((1, 1)) == (255, 255, 255)
    assert (sim.received["bs-01"], sim.acked["bs-01"]) == (1, 1)


def test_a_corrupted_frame_is_nacked_with_the_reason(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim()
    data = bytearray(frame(seq=9))
    data[16] ^= 0xFF  # the CRC field
    send_image(listener, settings, store, "L-2", bytes(data))

    assert listener.wait_for(lambda: len(listener.acks()) == 1)
    nack = listener.acks()[0]
    assert (nack.label, nack.seq, nack.status) == ("L-2", 9, "nack")
    assert "CRC mismatch" in nack.reason
    assert sim.crc_errors["bs-01"] == 1
    assert sim.shown("bs-01", "L-2") is None


def test_redelivery_of_the_same_seq_is_acked_again_without_airtime(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(airtime_s=0.05)
    send_image(listener, settings, store, "L-3", frame(seq=5))
    assert listener.wait_for(lambda: len(listener.acks()) == 1)
    send_image(listener, settings, store, "L-3", frame(seq=5))
    assert listener.wait_for(lambda: len(listener.acks()) == 2)

    assert [(ack.seq, ack.status) for ack in listener.acks()] == [(5, "ok"), (5, "ok")]
    assert len(sim.transfers) == 1
    assert sim.busy_seconds["bs-01"] == pytest.approx(0.05)


def test_an_older_seq_than_the_label_shows_is_nacked_as_stale(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim()
    send_image(listener, settings, store, "L-4", frame(seq=8, mark=1))
    assert listener.wait_for(lambda: len(listener.acks()) == 1)
    send_image(listener, settings, store, "L-4", frame(seq=7, mark=2))
    assert listener.wait_for(lambda: len(listener.acks()) == 2)

    stale = listener.acks()[1]
    assert (stale.seq, stale.status) == (7, "nack")
    assert "stale" in stale.reason
    assert sim.shown("bs-01", "L-4")[0] == 8


def test_transfers_go_on_air_one_at_a_time(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(airtime_s=0.2)
    for seq, label in enumerate(("L-a", "L-b", "L-c"), start=1):
        send_image(listener, settings, store, label, frame(seq))

    assert listener.wait_for(lambda: len(listener.acks()) == 3)
    assert [(ack.label, ack.seq) for ack in listener.acks()] == [
        ("L-a", 1),
        ("L-b", 2),
        ("L-c", 3),
    ]
    assert sim.busy_seconds["bs-01"] == pytest.approx(0.6)
    transfers = list(sim.transfers)
    assert [t.label_id for t in transfers] == ["L-a", "L-b", "L-c"]
    for before, after in itertools.pairwise(transfers):
        assert after.started >= before.finished  # never two on air at once


def test_drop_rate_one_means_no_ack(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(drop_rate=1.0)
    for seq in (1, 2, 3):
        send_image(listener, settings, store, f"L-{seq}", frame(seq))
    assert eventually(lambda: sim.dropped["bs-01"] == 3)
    # A drop is silent: the status message after it would be the only traffic.
    assert listener.acks() == []
    assert sim.acked["bs-01"] == 0


def test_nack_rate_one_nacks_everything_with_a_reason(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(nack_rate=1.0)
    for seq in (1, 2, 3):
        send_image(listener, settings, store, f"L-{seq}", frame(seq))
    assert listener.wait_for(lambda: len(listener.acks()) == 3)
    assert {(ack.status, ack.reason) for ack in listener.acks()} == {
        ("nack", "label did not answer (simulated)")
    }
    assert sim.nacked["bs-01"] == 3


def test_partial_rates_split_the_outcomes(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(drop_rate=0.3, nack_rate=0.3, seed=7)
    for seq in range(1, 31):
        send_image(listener, settings, store, f"L-{seq}", frame(seq))
    assert eventually(lambda: len(listener.acks()) + sim.dropped["bs-01"] == 30)
    statuses = [ack.status for ack in listener.acks()]
    assert sim.dropped["bs-01"] > 0
    assert statuses.count("nack") == sim.nacked["bs-01"] > 0
    assert statuses.count("ok") == sim.acked["bs-01"] > 0


def test_led_and_page_commands_are_acked_with_their_kind(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    make_sim()
    prefix = settings.topic_prefix
    listener.publish(
        protocol.led_topic(prefix, store, "bs-01", "L-1"),
        protocol.led_payload(3, "green", "blink", 10),
    )
    listener.publish(
        protocol.page_topic(prefix, store, "bs-01", "L-1"), protocol.page_payload(4, 2, 0)
    )
    assert listener.wait_for(lambda: len(listener.acks()) == 2)
    assert [(ack.kind, ack.seq, ack.status) for ack in listener.acks()] == [
        ("led", 3, "ok"),
        ("page", 4, "ok"),
    ]


def test_offline_station_stops_acking_and_says_so(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim()
    sim.go_offline("bs-01")
    assert listener.wait_for(lambda: states(listener)[-1:] == ["offline"])
    send_image(listener, settings, store, "L-1", frame(1))
    assert eventually(lambda: sim.ignored["bs-01"] == 1)
    sim.go_online("bs-01")
    assert listener.wait_for(lambda: states(listener)[-1:] == ["online"])
    send_image(listener, settings, store, "L-2", frame(2))
    assert listener.wait_for(lambda: len(listener.acks()) == 1)
    assert listener.acks()[0].label == "L-2"  # L-1 arrived while offline: never acked


def test_abrupt_disconnect_fires_the_retained_last_will(
    listener: Listener, make_sim: MakeSim, settings: Settings, store: str
) -> None:
    sim = make_sim(["bs-01", "bs-02"])
    assert listener.wait_for(lambda: len(listener.statuses()) >= 2)
    sim.disconnect_abruptly("bs-02")

    status_topic = protocol.status_topic(settings.topic_prefix, store, "bs-02")
    assert listener.wait_for(
        lambda: any(
            topic == status_topic and payload == b'{"state":"offline"}'
            for topic, payload, _ in listener.messages
        )
    )
    late = Listener(settings.mqtt_url, [status_topic])
    try:
        assert late.wait_for(lambda: bool(late.messages))
        _topic, payload, retained = late.messages[0]
        assert retained
        assert protocol.parse_status(payload).state == "offline"
    finally:
        late.close()

    sim.go_online("bs-02")
    assert listener.wait_for(
        lambda: any(
            topic == status_topic and protocol.parse_status(payload).state == "online"
            for topic, payload, _ in listener.messages[-3:]
            if payload
        )
    )


def test_station_names_from_a_list_or_a_count() -> None:
    assert station_names("bs-01, bs-07", None) == ["bs-01", "bs-07"]
    assert station_names(None, 3) == ["bs-01", "bs-02", "bs-03"]
    assert station_names(None, 100)[-1] == "bs-100"
    with pytest.raises(ValueError, match="not both"):
        station_names("bs-01", 2)


def test_simulator_rejects_bad_options(settings: Settings) -> None:
    with pytest.raises(ValueError, match="drop_rate must be between 0 and 1"):
        BaseStationSim(settings.mqtt_url, "esl", "s1", ["bs-01"], drop_rate=1.5)
    with pytest.raises(protocol.ProtocolError, match="base station id"):
        BaseStationSim(settings.mqtt_url, "esl", "s1", ["bs/01"])


def test_cli_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_base_station_sim(["--stations", "bs-01", "--count", "2"])
    assert exited.value.code == 2
    assert "not both" in capsys.readouterr().err
