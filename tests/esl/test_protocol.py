from __future__ import annotations

import json
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.esl.drivers.mqtt.protocol import (
    HEADER,
    HEADER_SIZE,
    MAGIC,
    Ack,
    BatchError,
    FrameError,
    ProtocolError,
    StationStatus,
)
from esl_controller.labels.planes import pack_image

# --- helpers --------------------------------------------------------------------------------


def label_image(width: int = 296, height: int = 128, accent: bool = True) -> Image.Image:
    image = Image.new("P", (width, height), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height // 4), fill=2 if accent else 1)
    draw.text((2, height // 3), "12,99 lei", fill=1)
    draw.rectangle((width // 2, height // 2, width - 2, height - 2), fill=1)
    return image


def tiny_image() -> Image.Image:
    """The 10x2 example from docs/protocol.md."""
    image = Image.new("P", (10, 2), 0)
    for x in (0, 1, 9):
        image.putpixel((x, 0), 1)
    for x in (8, 9):
        image.putpixel((x, 1), 2)
    return image


def pixels(image: Image.Image) -> list[int]:
    return list(image.tobytes())


def with_header(frame: bytes, **changes: int | bytes) -> bytes:
    names = ("magic", "version", "mode", "flags", "reserved", "width", "height", "seq", "crc")
    values = dict(zip((*names, "length"), HEADER.unpack_from(frame), strict=True))
    values.update(changes)
    return HEADER.pack(*values.values()) + frame[HEADER_SIZE:]


# --- image frames -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour_mode", "size", "accent"),
    [
        ("BW", (296, 128), False),
        ("BWR", (296, 128), True),
        ("BWY", (250, 122), True),
        ("BWR", (13, 7), True),  # odd width: rows padded to whole bytes
        ("BW", (9, 5), False),
    ],
)
def test_frame_round_trip(colour_mode: str, size: tuple[int, int], accent: bool) -> None:
    image = label_image(*size, accent=accent)
    encoded = pack_image(image, colour_mode)
    decoded = protocol.decode_frame(protocol.frame_bytes(encoded, 42))

    assert (decoded.width, decoded.height, decoded.colour_mode, decoded.seq) == (
        *size,
        colour_mode,
        42,
    )
    planes = 1 if colour_mode == "BW" else 2
    assert len(decoded.planes) == planes * ((size[0] + 7) // 8) * size[1]
    assert pixels(decoded.to_image()) == pixels(image)
    assert decoded.to_image().mode == "P"
    assert decoded.content_hash == encoded.content_hash


def test_tiny_image_bytes_match_the_documented_example() -> None:
    encoded = pack_image(tiny_image(), "BWR")
    frame = protocol.frame_bytes(encoded, 7)
    planes = zlib.decompress(frame[HEADER_SIZE:])

    # black: row 0 = 1100000001 -> C0 40, row 1 empty; accent: row 1 = 0000000011 -> 00 C0
    assert planes.hex(" ") == "c0 40 00 00 00 00 00 c0"
    assert frame[:16].hex(" ") == "45 53 4c 46 01 01 01 00 00 0a 00 02 00 00 00 07"
    assert struct.unpack(">I", frame[16:20])[0] == zlib.crc32(planes) == encoded.crc32
    assert struct.unpack(">I", frame[20:24])[0] == len(frame) - HEADER_SIZE


def test_an_accent_pixel_never_sets_the_black_bit() -> None:
    image = Image.new("P", (8, 1), 2)
    decoded = protocol.decode_frame(protocol.frame_bytes(pack_image(image, "BWR"), 1))
    assert decoded.black_plane == b"\x00"
    assert decoded.accent_plane == b"\xff"


def test_frame_with_a_pixel_in_both_planes_is_rejected() -> None:
    planes = b"\x80\x80"  # 8x1: pixel 0 black AND accent
    header = HEADER.pack(MAGIC, 1, 1, 1, 0, 8, 1, 5, zlib.crc32(planes), 0)
    payload = zlib.compress(planes)
    frame = with_header(header + payload, length=len(payload))
    with pytest.raises(FrameError, match="both the black and the accent"):
        protocol.decode_frame(frame)


def test_uncompressed_frames_are_accepted_when_the_flag_is_clear() -> None:
    planes = b"\xc0\x40\x00\x00"
    frame = HEADER.pack(MAGIC, 1, 0, 0, 0, 10, 2, 9, zlib.crc32(planes), len(planes)) + planes
    assert protocol.decode_frame(frame).black_plane == planes


def test_sequence_number_does_not_change_the_content_hash_or_the_payload() -> None:
    encoded = pack_image(label_image(), "BWR")
    first, second = protocol.frame_bytes(encoded, 1), protocol.frame_bytes(encoded, 2)
    assert first[HEADER_SIZE:] == second[HEADER_SIZE:]
    assert protocol.decode_frame(first).content_hash == protocol.decode_frame(second).content_hash


def test_content_hash_equal_for_equal_images_and_different_for_one_pixel() -> None:
    image = label_image()
    same = label_image()
    changed = label_image()
    changed.putpixel((200, 5), 1)

    encode = pack_image
    assert encode(image, "BWR").content_hash == encode(same, "BWR").content_hash
    assert encode(image, "BWR").content_hash != encode(changed, "BWR").content_hash
    # the same pixels on a panel with another accent colour show something else
    assert encode(image, "BWR").content_hash != encode(image, "BWY").content_hash


def test_crc_mismatch_is_detected() -> None:
    frame = protocol.frame_bytes(pack_image(label_image(), "BWR"), 3)
    crc = struct.unpack(">I", frame[16:20])[0]
    with pytest.raises(FrameError, match="CRC mismatch"):
        protocol.decode_frame(with_header(frame, crc=crc ^ 1))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda frame: frame[:10], "shorter than the 24-byte header"),
        (lambda frame: frame[:-3], "header declares"),
        (lambda frame: frame + b"junk", "header declares"),
        (lambda frame: b"GIF8" + frame[4:], "bad magic"),
        (lambda frame: with_header(frame, version=2), "unsupported frame version 2"),
        (lambda frame: with_header(frame, mode=7), "unknown colour mode 7"),
        (lambda frame: with_header(frame, flags=0x81), "unknown flags"),
        (lambda frame: with_header(frame, reserved=1), "reserved byte"),
        (lambda frame: with_header(frame, width=0), "each side must be"),
        (lambda frame: with_header(frame, height=5000), "each side must be"),
        (lambda frame: with_header(frame, width=20), "planes are"),
        (
            lambda frame: frame[:HEADER_SIZE] + b"\xff" * (len(frame) - HEADER_SIZE),
            "not valid zlib",
        ),
    ],
)
def test_broken_frames_are_rejected_with_a_specific_error(mangle, message: str) -> None:
    frame = protocol.frame_bytes(pack_image(tiny_image(), "BWR"), 1)
    with pytest.raises(FrameError, match=message):
        protocol.decode_frame(mangle(frame))


def test_truncated_zlib_stream_is_rejected() -> None:
    planes = bytes(range(256)) * 4  # incompressible enough that a cut stream is incomplete
    payload = zlib.compress(planes)[:-20]
    frame = HEADER.pack(MAGIC, 1, 0, 1, 0, 64, 128, 1, zlib.crc32(planes), len(payload))
    with pytest.raises(FrameError, match="truncated"):
        protocol.decode_frame(frame + payload)


def test_zip_bomb_is_rejected_without_inflating_it() -> None:
    bomb = zlib.compress(b"\x00" * 50_000_000, 9)  # ~50 KB that would inflate to 50 MB
    frame = HEADER.pack(MAGIC, 1, 0, 1, 0, 10, 2, 1, 0, len(bomb)) + bomb
    with pytest.raises(FrameError, match="inflates beyond the 4 bytes"):
        protocol.decode_frame(frame)


def test_encode_rejects_images_it_cannot_represent() -> None:
    with pytest.raises(ValueError, match="pixel value 2 is not valid for a BW label"):
        pack_image(Image.new("P", (4, 4), 2), "BW")
    with pytest.raises(ValueError, match="pixel value 9"):
        pack_image(Image.new("P", (4, 4), 9), "BWR")
    with pytest.raises(ValueError, match="mode 'P'"):
        pack_image(Image.new("RGB", (4, 4)), "BWR")
    with pytest.raises(ValueError, match="colour mode must be one of"):
        pack_image(Image.new("P", (4, 4)), "RGB")


@pytest.mark.parametrize("seq", [-1, 2**32, "7", True])
def test_frame_bytes_rejects_sequence_numbers_outside_u32(seq: object) -> None:
    encoded = pack_image(tiny_image(), "BWR")
    with pytest.raises(ValueError, match="sequence number"):
        protocol.frame_bytes(encoded, seq)  # type: ignore[arg-type]


# --- topics -------------------------------------------------------------------------------------


def test_topics_build_and_parse_round_trip() -> None:
    prefix = "acme/esl"
    cases = {
        protocol.image_topic(prefix, "s1", "bs-01", "L-7"): ("image", "L-7"),
        protocol.led_topic(prefix, "s1", "bs-01", "L-7"): ("led", "L-7"),
        protocol.page_topic(prefix, "s1", "bs-01", "L-7"): ("page", "L-7"),
        protocol.ack_topic(prefix, "s1", "bs-01"): ("ack", None),
        protocol.status_topic(prefix, "s1", "bs-01"): ("status", None),
    }
    assert protocol.image_topic(prefix, "s1", "bs-01", "L-7") == "acme/esl/s1/bs-01/label/L-7/image"
    for topic, (kind, label_id) in cases.items():
        assert protocol.parse_topic(prefix, topic) == protocol.ParsedTopic(
            "s1", "bs-01", kind, label_id
        )


def test_subscription_filters() -> None:
    assert protocol.controller_subscriptions("esl", "s1") == ["esl/s1/+/ack", "esl/s1/+/status"]
    assert protocol.station_subscription("esl", "s1", "bs-2") == "esl/s1/bs-2/label/+/+"


@pytest.mark.parametrize("bad_id", ["", "a/b", "a+b", "a#", "two words", "tab\t", "x" * 65, "\x07"])
def test_topic_builders_reject_bad_ids(bad_id: str) -> None:
    with pytest.raises(ProtocolError, match="label id"):
        protocol.image_topic("esl", "s1", "bs-01", bad_id)


@pytest.mark.parametrize(
    "topic",
    [
        "other/s1/bs-01/ack",
        "esl/s1/bs-01/hello",
        "esl/s1/bs-01/label/L1/sound",
        "esl/s1/bs-01/label/L1",
        "esl/s1/ack",
        "esl/s1/bs-01/ack/extra",
    ],
)
def test_parse_topic_rejects_anything_off_contract(topic: str) -> None:
    with pytest.raises(ProtocolError, match="topic"):
        protocol.parse_topic("esl", topic)


# --- JSON messages --------------------------------------------------------------------------------

GOOD_ACK = {
    "label": "L1",
    "seq": 12,
    "status": "ok",
    "kind": "image",
    "battery": 87,
    "signal": -67,
    "temperature": 21.5,
}


def test_ack_round_trip() -> None:
    ack = Ack("L1", 12, "ok", "image", battery=87, signal=-67, temperature=21.5)
    assert protocol.parse_ack(protocol.ack_payload(ack)) == ack
    assert protocol.parse_ack(json.dumps(GOOD_ACK).encode()) == ack


def test_ack_ignores_unknown_fields() -> None:
    ack = protocol.parse_ack(json.dumps({**GOOD_ACK, "rssi_raw": 12}))
    assert ack.seq == 12


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seq": "12"}, "seq"),
        ({"seq": -1}, "seq"),
        ({"seq": 1.5}, "seq"),
        ({"status": "maybe"}, "status"),
        ({"status": "nack"}, "reason"),
        ({"battery": 101}, "battery"),
        ({"battery": True}, "battery"),
        ({"signal": 5}, "signal"),
        ({"temperature": "warm"}, "temperature"),
        ({"kind": "sound"}, "kind"),
        ({"label": "a/b"}, "label"),
        ({"label": None}, "label"),
    ],
)
def test_bad_acks_are_rejected_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ProtocolError, match=rf"^ack: {field}: "):
        protocol.parse_ack(json.dumps({**GOOD_ACK, **changes}))


def test_ack_missing_a_required_field_names_it() -> None:
    payload = {key: value for key, value in GOOD_ACK.items() if key != "seq"}
    with pytest.raises(ProtocolError, match="seq: Missing data"):
        protocol.parse_ack(json.dumps(payload))


@pytest.mark.parametrize("payload", [b"not json", b"\xff\xfe", b"[1]", b"42"])
def test_non_object_ack_is_rejected(payload: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"^ack: "):
        protocol.parse_ack(payload)


def test_nack_carries_its_reason() -> None:
    nack = protocol.parse_ack(json.dumps({**GOOD_ACK, "status": "nack", "reason": "CRC"}))
    assert (nack.status, nack.reason) == ("nack", "CRC")


def test_batched_acks_come_back_as_one_list_either_way() -> None:
    acks = [Ack(f"L{n}", n, battery=90) for n in range(1, 4)]
    assert protocol.parse_acks(protocol.acks_payload(acks)) == acks
    assert protocol.parse_acks(protocol.ack_payload(acks[0])) == [acks[0]]


def test_batch_with_a_bad_entry_keeps_the_good_ones() -> None:
    payload = json.dumps([GOOD_ACK, {**GOOD_ACK, "seq": "x"}, {**GOOD_ACK, "label": "L2"}])
    with pytest.raises(BatchError, match=r"ack\[1\]: seq") as caught:
        protocol.parse_acks(payload)
    assert [ack.label for ack in caught.value.valid] == ["L1", "L2"]


def test_oversized_batch_is_rejected() -> None:
    payload = json.dumps([GOOD_ACK] * (protocol.MAX_ACKS_PER_MESSAGE + 1))
    with pytest.raises(ProtocolError, match="at most 1000 per message"):
        protocol.parse_acks(payload)


def test_ack_payload_refuses_to_build_an_off_contract_ack() -> None:
    with pytest.raises(ProtocolError, match="battery"):
        protocol.ack_payload(Ack("L1", 1, battery=150))


def test_status_round_trip_and_the_bare_last_will() -> None:
    status = StationStatus("online", queue=3, firmware="2.1.0", uptime=3600, labels=1800)
    assert protocol.parse_status(protocol.status_payload(status)) == status
    assert protocol.status_payload(StationStatus("offline")) == b'{"state":"offline"}'
    assert protocol.parse_status(b'{"state":"offline"}') == StationStatus("offline")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"state": "sleeping"}, "state"),
        ({"state": "online", "queue": -1}, "queue"),
        ({"state": "online", "queue": 10**30}, "queue"),
        ({"state": "online", "labels": 1_000_001}, "labels"),
        ({"state": "online", "uptime": 2**31}, "uptime"),
        ({"state": "online", "uptime": "long"}, "uptime"),
        ({"queue": 1}, "state"),
    ],
)
def test_bad_status_is_rejected_naming_the_field(payload: dict, field: str) -> None:
    with pytest.raises(ProtocolError, match=rf"^status: {field}: "):
        protocol.parse_status(json.dumps(payload))


def test_led_round_trip_and_validation() -> None:
    payload = protocol.led_payload(5, "green", "blink", 30)
    assert json.loads(payload) == {"seq": 5, "colour": "green", "pattern": "blink", "seconds": 30}
    assert protocol.parse_led(payload) == protocol.LedCommand(5, "green", "blink", 30)
    with pytest.raises(ProtocolError, match="colour"):
        protocol.led_payload(5, "ultraviolet", "blink", 30)
    with pytest.raises(ProtocolError, match="seconds"):
        protocol.parse_led(b'{"seq": 5, "colour": "red", "pattern": "solid", "seconds": 601}')
    with pytest.raises(ProtocolError, match="pattern"):
        protocol.parse_led(b'{"seq": 5, "colour": "red", "pattern": "disco", "seconds": 6}')


def test_page_round_trip_and_validation() -> None:
    payload = protocol.page_payload(9, 3, 0)
    assert protocol.parse_page(payload) == protocol.PageCommand(9, 3, 0)
    with pytest.raises(ProtocolError, match="page: page"):
        protocol.page_payload(9, 8, 0)
    with pytest.raises(ProtocolError, match="seconds"):
        protocol.parse_page(b'{"seq": 9, "page": 1, "seconds": 3601}')
