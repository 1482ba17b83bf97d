"""An emulated OpenEPaperLink access point: its web server and `/ws` websocket, in a thread.

It behaves on the network as the AP firmware's web server does (docs/drivers/oepl.md maps
each behaviour to the firmware file and function it follows): `GET /get_db` pages its tag
database with `pos` and a `continu` key, `POST /imgupload` takes a multipart JPEG and maps
it to the tag type's colour table, `/tag_cmd` and `/led_flash` queue commands, `/sysinfo`
describes the AP, `/tagtypes/XX.json` describes tag types, and `/ws` pushes every change of
a tag record as `{"tags": [record]}` plus a `{"sys": {...}}` status every few seconds.

Each tag checks in every `checkin_s` seconds (phases spread evenly); at its check-in it
takes what is pending: the pending count drops, the hash, last-seen and update count
change, and the new record is pushed on the websocket.

Faults for tests are injected through `OeplApEmulator.faults` (see `Faults`), and what
every tag shows is readable as decoded pixels (`shown`), to compare with our render.
Nothing here imports the controller's driver: this is the other side of the wire.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import heapq
import io
import json
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

from esl_controller.sims.running import report_until_interrupted

log = logging.getLogger(__name__)

BUILD_VERSION = "2.85-emulated"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# The firmware starts a new page once the JSON passes this many bytes (tagDBtoJson).
PAGE_BYTES = 5000
SYSINFO_EVERY_S = 5.0  # the firmware's intervalSysinfo
DEEP_SLEEP_SENTINEL = 3216153600  # expectedNextCheckin of a tag in deep sleep
RUNSTATUS_STOP, RUNSTATUS_PAUSE, RUNSTATUS_RUN = 0, 1, 2
MAX_BODY = 4 * 1024 * 1024
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class TagType:
    """One `resources/tagtypes/XX.json` of the firmware, the fields a client reads."""

    id: int
    name: str
    width: int
    height: int
    rotatebuffer: int
    bpp: int
    colortable: dict[str, RGB]

    def as_json(self) -> dict:
        return {
            "version": 1,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "rotatebuffer": self.rotatebuffer,
            "bpp": self.bpp,
            "colortable": {name: list(rgb) for name, rgb in self.colortable.items()},
        }


_BW = {"white": (255, 255, 255), "black": (0, 0, 0)}
_BWR = {**_BW, "red": (255, 0, 0)}
_BWY = {**_BW, "yellow": (255, 255, 0)}
_BWRY = {**_BWR, "yellow": (255, 255, 0)}

# A subset of the firmware's tag types (the common SoluM and Hanshow panels), as published.
TAG_TYPES: dict[int, TagType] = {
    t.id: t
    for t in (
        TagType(0x00, 'M2 1.54"', 152, 152, 0, 2, _BWR),
        TagType(0x01, 'M2 2.9"', 296, 128, 1, 2, _BWR),
        TagType(0x02, 'M2 4.2"', 400, 300, 0, 2, _BWR),
        TagType(0x04, 'M2 2.6"', 296, 152, 1, 2, _BWR),
        TagType(0x11, 'M2 2.9" (UC8151)', 296, 128, 1, 2, _BWR),
        TagType(0x21, 'ST-GM29XXF 2.9"', 296, 128, 1, 1, _BW),
        TagType(0x27, 'ST-GM29MT1 2.9"', 296, 128, 1, 1, _BW),
        TagType(0x34, 'M3 4.2"', 400, 300, 0, 2, _BWR),
        TagType(0x36, 'M3 7.5"', 800, 480, 0, 2, _BWR),
        TagType(0x3C, 'M3 4.2" BWY', 400, 300, 0, 2, _BWY),
        TagType(0x54, 'HS BW 2.13"', 256, 128, 1, 1, _BW),
        TagType(0x55, 'HS BWR 2.13"', 256, 128, 1, 2, _BWR),
        TagType(0x56, 'HS BWR 2.66"', 296, 152, 1, 2, _BWR),
        TagType(0x66, 'HS BWY 7,5"', 800, 480, 2, 2, _BWY),
        TagType(0x6E, 'HS BWRY 2,9"', 296, 128, 1, 2, _BWRY),
        TagType(0x82, 'Chroma29 2.9"', 296, 128, 1, 2, _BWR),
    )
}
DEFAULT_HW_TYPES = (0x01,)


def colour_distance(pixels: np.ndarray, colour: RGB) -> np.ndarray:
    """The firmware's weighted RGB distance (makeimage.cpp colorDistance), for many pixels.

    A grey pixel never maps to a coloured palette entry: the firmware returns the largest
    distance for that pair so text anti-aliasing never turns red.
    """
    diff = pixels.astype(np.int64) - np.array(colour, dtype=np.int64)
    distance = 3 * diff[..., 0] ** 2 + 5.47 * diff[..., 1] ** 2 + 1.53 * diff[..., 2] ** 2
    r, g, b = (pixels[..., i].astype(np.int64) for i in range(3))
    grey_pixel = (np.abs(r - g) < 20) & (np.abs(b - g) < 20)
    cr, cg, cb = colour
    if abs(cr - cg) > 20 or abs(cb - cg) > 20:
        distance = np.where(grey_pixel, np.float64(2**32 - 1), distance)
    return distance


def map_to_palette(rgb: np.ndarray, palette: list[RGB]) -> np.ndarray:
    """Palette index per pixel, nearest by `colour_distance` (the firmware's dither=0)."""
    # A picture has far fewer distinct colours than pixels: measure each colour once.
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    packed |= rgb[..., 2]
    colours, inverse = np.unique(packed.ravel(), return_inverse=True)
    distinct = np.stack([(colours >> 16) & 0xFF, (colours >> 8) & 0xFF, colours & 0xFF], axis=-1)
    distances = np.stack([colour_distance(distinct, colour) for colour in palette])
    # argmin keeps the first of equal distances, as the firmware's strict `<` does.
    nearest = np.argmin(distances, axis=0).astype(np.uint8)
    return nearest[inverse].reshape(rgb.shape[:2])


def decode_upload(jpeg: bytes, tag_type: TagType, dither: int) -> tuple[np.ndarray, str | None]:
    """The JPEG as palette indices of the tag type (its width x height), and any complaint.

    Like the firmware's sprite, a picture of the wrong size is drawn at the top left of a
    white canvas and cropped.
    """
    picture = Image.open(io.BytesIO(jpeg))
    picture.load()
    complaint = None
    size = (tag_type.width, tag_type.height)
    if picture.size != size:
        complaint = f"jpeg is {picture.size[0]}x{picture.size[1]}, tag shows {size[0]}x{size[1]}"
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(picture.convert("RGB"), (0, 0))
    palette = list(tag_type.colortable.values())[: 2 if tag_type.bpp == 1 else None]
    if dither == 0:
        return map_to_palette(np.asarray(canvas), palette), complaint
    # Error diffusion (dither=1, the firmware's default) onto the same colours.
    flat = [value for colour in palette for value in colour]
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(flat + flat[:3] * (256 - len(palette)))
    dithered = canvas.quantize(palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG)
    return np.asarray(dithered).astype(np.uint8), complaint


@dataclass
class EmulatedTag:
    """One tag record as the firmware keeps it (tag_db.h tagRecord), plus what it shows."""

    mac: str  # 16 hex digits, as the firmware prints it
    hw_type: int
    alias: str = ""
    battery_mv: int = 2900
    rssi: int = -60
    lqi: int = 100
    temperature: int = 21
    md5: bytes = bytes(16)
    lastseen: int = 0
    nextupdate: int = 0
    nextcheckin: int = 0
    content_mode: int = 0
    modecfgjson: str = ""
    rotate: int = 0
    lut: int = 0
    invert: int = 0
    update_count: int = 0
    update_last: int = 0
    wakeup_reason: int = 0
    capabilities: int = 0x42
    version: int = 0
    queue: list[tuple[str, bytes, object]] = field(default_factory=list)  # (kind, ver, data)
    shown: np.ndarray | None = None  # palette indices of what the panel shows
    led_flashes: list[bytes] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return len(self.queue)

    def record(self, clock_offset_s: float = 0.0) -> dict:
        """The JSON the firmware's fillNode writes for this tag."""
        return {
            "mac": self.mac,
            "hash": self.md5.hex(),
            "lastseen": self.lastseen,
            "nextupdate": self.nextupdate,
            "nextcheckin": self.nextcheckin,
            "pending": self.pending,
            "alias": self.alias,
            "contentMode": self.content_mode,
            "LQI": self.lqi,
            "RSSI": self.rssi,
            "temperature": self.temperature,
            "batteryMv": self.battery_mv,
            "hwType": self.hw_type,
            "wakeupReason": self.wakeup_reason,
            "capabilities": self.capabilities,
            "modecfgjson": self.modecfgjson,
            "isexternal": False,
            "apip": "0.0.0.0",
            "rotate": self.rotate,
            "lut": self.lut,
            "invert": self.invert,
            "updatecount": self.update_count,
            "updatelast": self.update_last,
            "ch": 11,
            "ver": 0x0029,
        }


@dataclass
class Faults:
    """Misbehaviour to inject; counters count down as each fault fires."""

    garbage_get_db: int = 0  # next N /get_db answers are not JSON
    busy_uploads: int = 0  # next N /imgupload answer 409 Come back later
    garbage_ws: int = 0  # next N websocket pushes are not JSON
    truncate_ws: int = 0  # next N pushes are cut mid-frame and the connection dropped
    vanish_mid_upload: int = 0  # next N uploads: the AP goes away before answering
    bad_records: int = 0  # next N pushed tag records lack their `mac` and `pending`
    clock_offset_s: float = 0.0  # the AP's clock is this far from ours
    asleep: bool = False  # the tags stop checking in (out of radio range): nothing is taken


@dataclass
class ApTotals:
    tags: int
    uploads: int
    busy: int
    checkins: int
    delivered: int
    pending: int

    def __str__(self) -> str:
        return (
            f"{self.tags} tags, {self.uploads} uploads ({self.busy} busy), "
            f"{self.checkins} check-ins, {self.delivered} delivered, {self.pending} pending"
        )


def tag_mac(index: int, prefix: int = 0x0000021F) -> str:
    """A SoluM-looking MAC: 8 bytes, printed as the firmware prints them."""
    return f"{prefix:08X}{index:08X}"


class OeplApEmulator:
    """One emulated access point: HTTP + websocket on `port` (0: a free one), in threads."""

    def __init__(
        self,
        tags: int | Iterable[EmulatedTag] = 8,
        checkin_s: float = 60.0,
        port: int = 0,
        host: str = "127.0.0.1",
        hw_types: Iterable[int] = DEFAULT_HW_TYPES,
        transfer_s: float = 0.0,
        mac_prefix: int = 0x0000021F,
        alias: str = "emulated-ap",
        seed: int = 0,
        sysinfo_every_s: float = SYSINFO_EVERY_S,
    ) -> None:
        if checkin_s <= 0:
            raise ValueError("checkin_s must be > 0")
        self.host = host
        self.port = port
        self.checkin_s = checkin_s
        self.transfer_s = transfer_s
        self.alias = alias
        self.faults = Faults()
        self.run_status = RUNSTATUS_RUN
        self.sysinfo_every_s = sysinfo_every_s
        self._rng = random.Random(seed)
        kinds = list(hw_types)
        if isinstance(tags, int):
            made = [EmulatedTag(tag_mac(i, mac_prefix), kinds[i % len(kinds)]) for i in range(tags)]
        else:
            made = list(tags)
        self._tags: dict[str, EmulatedTag] = {tag.mac: tag for tag in made}
        self._order: list[str] = [tag.mac for tag in made]
        self._lock = threading.RLock()
        self._lifecycle = threading.Lock()  # disappear / reappear
        self._wake = threading.Condition(self._lock)
        self._due: list[tuple[float, str]] = []
        self._clients: list[_WsClient] = []
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._online = threading.Event()
        self.uploads = 0
        self.busy = 0
        self.checkins = 0
        self.delivered = 0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> OeplApEmulator:
        self._serve()
        started = time.monotonic()
        count = max(len(self._order), 1)
        with self._lock:
            for index, mac in enumerate(self._order):
                first = self.checkin_s * (index + 1) / count
                self._due.append((started + first, mac))
                # As if each tag last checked in one period before its first check-in here.
                self._tags[mac].nextcheckin = int(self.ap_time() + first)
                self._tags[mac].lastseen = int(self.ap_time() + first - self.checkin_s)
            heapq.heapify(self._due)
        for target in (self._checkin_loop, self._sysinfo_loop):
            thread = threading.Thread(target=target, name=f"oepl-ap-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        self.disappear()
        for thread in self._threads:
            thread.join(timeout=5)

    def disappear(self) -> None:
        """The AP drops off the network: the port closes and websocket clients are cut."""
        with self._lifecycle:
            self._online.clear()
            server, self._server = self._server, None
            if server is not None:
                server.shutdown()
                server.server_close()
            with self._lock:
                clients, self._clients = self._clients, []
            for client in clients:
                client.close()

    def reappear(self) -> None:
        """Back on the same port (tags kept checking in meanwhile, as real ones do)."""
        with self._lifecycle:
            if self._server is None:
                self._serve()

    def _serve(self) -> None:
        server = _ApHttpServer((self.host, self.port), _ApHandler, self)
        self.port = server.server_address[1]
        self._server = server
        self._online.set()
        thread = threading.Thread(target=server.serve_forever, name="oepl-ap-http", daemon=True)
        thread.start()

    # -- what tests read ------------------------------------------------------------------

    def ap_time(self) -> float:
        return time.time() + self.faults.clock_offset_s

    def macs(self) -> list[str]:
        with self._lock:
            return list(self._order)

    def tag(self, mac: str) -> EmulatedTag:
        with self._lock:
            return self._tags[mac.upper()]

    def shown(self, mac: str) -> Image.Image | None:
        """What the tag's panel shows, mode "P": 0 white, 1 black, 2 accent (or None)."""
        with self._lock:
            tag = self._tags[mac.upper()]
            if tag.shown is None:
                return None
            return Image.fromarray(tag.shown.copy(), mode="P")

    def totals(self) -> ApTotals:
        with self._lock:
            pending = sum(1 for tag in self._tags.values() if tag.pending)
            return ApTotals(
                len(self._tags), self.uploads, self.busy, self.checkins, self.delivered, pending
            )

    def add_tag(self, tag: EmulatedTag) -> None:
        """A new tag checks in (e.g. a MAC another AP also reports, or an unknown type)."""
        with self._wake:
            self._tags[tag.mac] = tag
            self._order.append(tag.mac)
            heapq.heappush(self._due, (time.monotonic() + self.checkin_s, tag.mac))
            self._wake.notify_all()
        self._push_tag(tag)

    # -- the firmware's behaviour ---------------------------------------------------------

    def tag_page(self, pos: int) -> str:
        """tagDBtoJson: records from `pos` until the JSON passes PAGE_BYTES, then `continu`."""
        with self._lock:
            records: list[dict] = []
            size = 12
            doc: dict = {"tags": records}
            for index in range(pos, len(self._order)):
                tag = self._tags[self._order[index]]
                if tag.version != 0:
                    continue
                record = tag.record()
                records.append(record)
                size += len(json.dumps(record, separators=(",", ":"))) + 1
                if size > PAGE_BYTES:
                    doc["continu"] = index + 1
                    break
            return json.dumps(doc, separators=(",", ":"))

    def tag_json(self, mac: str) -> str:
        with self._lock:
            tag = self._tags.get(mac)
            return json.dumps({"tags": [tag.record()] if tag else []}, separators=(",", ":"))

    def accept_upload(self, mac: str, jpeg: bytes, dither: int) -> tuple[int, str]:
        """doImageUpload then the content manager's jpg2buffer + prepareDataAvail."""
        with self._lock:
            tag = self._tags.get(mac)
            if tag is None:
                return 400, "mac not found"
            self.uploads += 1
            tag.content_mode = 24
            tag.modecfgjson = json.dumps(
                {
                    "filename": f"/temp/{mac}_{int(time.monotonic() * 1000)}.jpg",
                    "dither": str(dither),
                    "delete": "1",
                }
            )
            tag.nextupdate = 0
        self._push_tag(tag)
        tag_type = TAG_TYPES.get(tag.hw_type)
        if tag_type is None:
            self.push({"errMsg": f"unknown hwType {tag.hw_type:02X} for {mac}"})
            return 200, "Ok, saved"
        try:
            pixels, complaint = decode_upload(jpeg, tag_type, dither)
        except OSError:
            self.push({"errMsg": "invalid jpg"})
            return 200, "Ok, saved"
        if complaint:
            self.push({"errMsg": complaint})
        version = hashlib.md5(pixels.tobytes()).digest()[:8]
        with self._lock:
            tag.nextupdate = int(self.ap_time()) + 60
            if version == tag.md5[:8]:
                same = True
            else:
                same = False
                # A new image replaces any image still queued for the tag (queueDataAvail).
                tag.queue = [item for item in tag.queue if item[0] != "image"]
                tag.queue.append(("image", version, pixels))
        if same:
            self.push({"logMsg": "new image is the same as current image. not updating tag."})
        self._push_tag(tag)
        return 200, "Ok, saved"

    def queue_command(self, mac: str, name: str, payload: bytes = b"") -> bool:
        """sendTagCommand: a command the tag takes at its next check-in."""
        with self._lock:
            tag = self._tags.get(mac)
            if tag is None:
                return False
            version = hashlib.md5(
                name.encode() + payload + struct.pack(">d", time.time())
            ).digest()[:8]
            tag.queue.append((name, version, payload))
        self._push_tag(tag)
        return True

    def clear_pending(self, mac: str) -> bool:
        with self._lock:
            tag = self._tags.get(mac)
            if tag is None:
                return False
            tag.queue.clear()
        self._push_tag(tag)
        return True

    def refresh(self, mac: str) -> bool:
        """updateContent: forget the hash so the content goes out again at the next check-in."""
        with self._lock:
            tag = self._tags.get(mac)
            if tag is None:
                return False
            tag.md5 = bytes(16)
            tag.nextupdate = 0
            if tag.shown is not None and not any(item[0] == "image" for item in tag.queue):
                version = hashlib.md5(tag.shown.tobytes()).digest()[:8]
                tag.queue.append(("image", version, tag.shown))
        self._push_tag(tag)
        return True

    def check_in_now(self, mac: str) -> None:
        """The tag checks in now, between its scheduled check-ins (a button press does it)."""
        self._check_in(mac.upper())

    def _check_in(self, mac: str) -> None:
        """processDataReq, then (if anything was pending) processXferComplete."""
        with self._lock:
            tag = self._tags[mac]
            now = int(self.ap_time())
            self.checkins += 1
            tag.lastseen = now
            tag.nextcheckin = now + max(1, round(self.checkin_s))
            tag.battery_mv = max(2200, tag.battery_mv - self._rng.choice((0, 0, 0, 1)))
            tag.rssi = -55 - self._rng.randrange(20)
            tag.lqi = 90 + self._rng.randrange(20)
            taking = tag.queue.pop(0) if tag.queue else None
            if taking is not None:
                tag.queue.insert(0, taking)  # still pending while the blocks go over the air
        self._push_tag(tag)
        if taking is None:
            return
        if self.transfer_s:
            time.sleep(self.transfer_s)
        with self._lock:
            if tag.queue and tag.queue[0] is taking:
                tag.queue.pop(0)
            kind, version, data = taking
            if kind == "image":
                tag.shown = data  # type: ignore[assignment]
            elif kind == "ledflash":
                tag.led_flashes.append(data)  # type: ignore[arg-type]
            else:
                tag.commands.append(kind)
            tag.md5 = version + bytes(8)
            tag.update_count += 1
            tag.update_last = int(self.ap_time())
            self.delivered += 1
        self._push_tag(tag)

    def _checkin_loop(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                if not self._due:
                    self._wake.wait(0.5)
                    continue
                due, mac = self._due[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(min(delay, 0.5))
                    continue
                heapq.heapreplace(self._due, (due + self.checkin_s, mac))
            if not self.faults.asleep:
                self._check_in(mac)

    def _sysinfo_loop(self) -> None:
        while not self._stop.wait(self.sysinfo_every_s):
            if self._online.is_set():
                self.push(self.sys_message())

    def sys_message(self) -> dict:
        """wsSendSysteminfo's `sys` object (the fields a client reads)."""
        with self._lock:
            count = len(self._tags)
        return {
            "sys": {
                "currtime": int(self.ap_time()),
                "heap": 150_000,
                "recordcount": count,
                "dbsize": count * 180,
                "littlefsfree": 1_000_000,
                "apstate": 1,
                "runstate": self.run_status,
                "rssi": -50,
                "wifistatus": 3,
                "wifissid": "store",
                "uptime": int(time.monotonic()),
            }
        }

    def sysinfo(self) -> dict:
        """handleSysinfoRequest (ota.cpp)."""
        return {
            "alias": self.alias,
            "env": "emulated",
            "buildtime": "0",
            "buildversion": BUILD_VERSION,
            "sha": "0",
            "psramsize": 0,
            "flashsize": 4 * 1024 * 1024,
            "rollback": False,
            "ap_version": 0x0029,
            "hasC6": 0,
            "hasH2": 0,
            "hasTslr": 0,
            "hasFlasher": 0,
        }

    # -- websocket pushes -----------------------------------------------------------------

    def _push_tag(self, tag: EmulatedTag) -> None:
        with self._lock:
            record = tag.record()
            if self.faults.bad_records > 0:
                self.faults.bad_records -= 1
                record.pop("mac")
                record["pending"] = "many"
        self.push({"tags": [record]})

    def push(self, message: dict) -> None:
        text = json.dumps(message, separators=(",", ":"))
        with self._lock:
            clients = list(self._clients)
            if not clients:
                return
            if self.faults.garbage_ws > 0:
                self.faults.garbage_ws -= 1
                text = text[: len(text) // 2] + "}{garbage"
            truncate = self.faults.truncate_ws > 0
            if truncate:
                self.faults.truncate_ws -= 1
        for client in clients:
            if truncate:
                client.send_truncated(text)
                self._drop_client(client)
            elif not client.send_text(text):
                self._drop_client(client)

    def _add_client(self, client: _WsClient) -> None:
        with self._lock:
            self._clients.append(client)

    def _drop_client(self, client: _WsClient) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        client.close()


class _WsClient:
    """A websocket peer: server-to-client text frames (RFC 6455, unmasked)."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._lock = threading.Lock()
        self.closed = False

    @staticmethod
    def frame(payload: bytes, opcode: int = 0x1) -> bytes:
        length = len(payload)
        if length < 126:
            header = struct.pack(">BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, length)
        return header + payload

    def send_text(self, text: str) -> bool:
        return self._send(self.frame(text.encode()))

    def send_truncated(self, text: str) -> None:
        """The frame header promises the whole message; only a part arrives."""
        data = self.frame(text.encode())
        self._send(data[: max(3, len(data) // 2)])

    def _send(self, data: bytes) -> bool:
        with self._lock:
            if self.closed:
                return False
            try:
                self.connection.sendall(data)
                return True
            except OSError:
                self.closed = True
                return False

    def close(self) -> None:
        with self._lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _ApHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, ap: OeplApEmulator) -> None:
        self.ap = ap
        super().__init__(address, handler)


class _ApHandler(BaseHTTPRequestHandler):
    server: _ApHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "OEPL-emulator"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without this, Nagle's algorithm
        # and the peer's delayed ACK stall every answer by tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    @property
    def ap(self) -> OeplApEmulator:
        return self.server.ap

    def _reply(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> tuple[dict[str, str], dict[str, bytes]]:
        """POST parameters (urlencoded or multipart) and uploaded files."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            values: dict[str, str] = {}
            files: dict[str, bytes] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename() is not None:
                    files[name] = payload
                else:
                    values[name] = payload.decode(errors="replace")
            return values, files
        return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}, {}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.ap.requests.append(("GET", url.path))
        if url.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        if url.path == "/get_db":
            if self.ap.faults.garbage_get_db > 0:
                self.ap.faults.garbage_get_db -= 1
                return self._reply(200, '{"tags":[{"mac":"0000', "application/json")
            if "mac" in query:
                mac = query["mac"].upper()
                if not _is_mac(mac):
                    return self._reply(
                        200, '{"error": "malformatted parameter"}', "application/json"
                    )
                return self._reply(200, self.ap.tag_json(mac), "application/json")
            try:
                pos = int(query.get("pos", "0"))
            except ValueError:
                pos = 0  # atoi
            return self._reply(200, self.ap.tag_page(max(pos, 0)), "application/json")
        if url.path == "/sysinfo":
            return self._reply(200, json.dumps(self.ap.sysinfo()), "application/json")
        if url.path.startswith("/tagtypes/") and url.path.endswith(".json"):
            try:
                tag_type = TAG_TYPES.get(int(url.path[len("/tagtypes/") : -5], 16))
            except ValueError:
                tag_type = None
            if tag_type is None:
                return self._reply(404, "Not found")
            return self._reply(200, json.dumps(tag_type.as_json()), "application/json")
        if url.path == "/led_flash":
            mac = query.get("mac", "").upper()
            pattern = query.get("pattern")
            if _is_mac(mac) and mac in self.ap.macs():
                payload = bytes(12)
                if pattern is not None:
                    try:
                        payload = bytes.fromhex(pattern)
                    except ValueError:
                        payload = b""
                    if len(payload) != 12:
                        return self._reply(400, "Error: expects 12 hex bytes in pattern")
                self.ap.queue_command(mac, "ledflash", payload)
                return self._reply(200, "ok, request transmitted")
            return self._reply(400, "parameters are missing")
        return self._reply(404, "Not found")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        self.ap.requests.append(("POST", path))
        if path == "/imgupload":
            return self._upload()
        try:
            values, _files = self._form()
        except ValueError:
            return self._reply(413, "too large")
        if path == "/tag_cmd":
            mac, command = values.get("mac", "").upper(), values.get("cmd")
            if not mac or command is None:
                return self._reply(500, "param error")
            if not _is_mac(mac) or mac not in self.ap.macs():
                return self._reply(400, "Error: mac not found")
            if command == "clear":
                self.ap.clear_pending(mac)
            elif command == "refresh":
                self.ap.refresh(mac)
            elif command in ("ledflash", "ledflash_long", "ledflash_stop"):
                self.ap.queue_command(mac, "ledflash", command.encode())
            elif command in ("reboot", "scan", "reset", "deepsleep"):
                self.ap.queue_command(mac, command)
            return self._reply(200, "Ok, done")
        return self._reply(404, "Not found")

    def _upload(self) -> None:
        ap = self.ap
        if ap.faults.vanish_mid_upload > 0:
            ap.faults.vanish_mid_upload -= 1
            self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 64))
            self.close_connection = True
            ap.disappear()  # gone before the client learns the upload failed
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if ap.run_status != RUNSTATUS_RUN or ap.faults.busy_uploads > 0:
            if ap.faults.busy_uploads > 0:
                ap.faults.busy_uploads -= 1
            ap.busy += 1
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return self._reply(409, "Come back later")
        try:
            values, files = self._form()
        except ValueError:
            return self._reply(413, "too large")
        mac = values.get("mac", "").upper()
        if not mac:
            return self._reply(400, "parameters incomplete")
        jpeg = next(iter(files.values()), b"")
        try:
            dither = int(values.get("dither", "1"))
        except ValueError:
            dither = 0  # toInt()
        if not _is_mac(mac):
            return self._reply(200, "")  # the firmware answers the empty 200 of server.on
        status, text = ap.accept_upload(mac, jpeg, dither)
        return self._reply(status, text)

    def _websocket(self) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        client = _WsClient(self.connection)
        # Registered before the handshake goes out, so no push made after the client saw
        # the 101 is lost; a push waits on the client's lock until the 101 is written.
        with client._lock:
            self.ap._add_client(client)
            self.send_response(HTTPStatus.SWITCHING_PROTOCOLS)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.wfile.flush()
        self.close_connection = True
        try:
            self._read_client_frames(client)
        finally:
            self.ap._drop_client(client)

    def _read_client_frames(self, client: _WsClient) -> None:
        """Answer pings and a close; the firmware ignores what a browser sends otherwise."""
        reader = self.rfile
        while not client.closed:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", reader.read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", reader.read(8))[0]
            mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            if opcode == 0x8:
                client._send(_WsClient.frame(data[:2], 0x8))
                return
            if opcode == 0x9:
                client._send(_WsClient.frame(data, 0xA))


def _is_mac(text: str) -> bool:
    return len(text) in (12, 16) and all(c in "0123456789ABCDEF" for c in text)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esl-controller sim oepl-ap",
        description="An emulated OpenEPaperLink access point (HTTP + /ws websocket).",
    )
    parser.add_argument("--tags", type=int, default=8, help="tags the AP knows")
    parser.add_argument("--checkin", type=float, default=60.0, help="seconds between check-ins")
    parser.add_argument("--port", type=int, default=8090, help="HTTP port (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--hw-types",
        default="01",
        help="comma-separated hex tag types, assigned round-robin (e.g. 00,01,02,36)",
    )
    parser.add_argument(
        "--mac-prefix", default="0000021F", help="hex, the first 4 bytes of every tag's MAC"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def run_oepl_ap_sim(argv: list[str] | None = None) -> int:
    """Run one emulated AP until Ctrl-C; the exit code for the shell."""
    parser = _argument_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        hw_types = [int(part, 16) for part in args.hw_types.split(",") if part]
        mac_prefix = int(args.mac_prefix, 16)
    except ValueError:
        parser.error(f"--hw-types / --mac-prefix: not hex: {args.hw_types!r} {args.mac_prefix!r}")
    if args.checkin <= 0 or args.tags < 0 or not hw_types:
        parser.error("--checkin must be > 0, --tags >= 0 and --hw-types not empty")
    try:
        ap = OeplApEmulator(
            args.tags,
            args.checkin,
            args.port,
            args.host,
            hw_types,
            mac_prefix=mac_prefix,
            seed=args.seed,
        ).start()
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc}")
    log.info("emulated OpenEPaperLink AP with %d tags on %s; Ctrl-C stops", args.tags, ap.url)
    return report_until_interrupted(ap, log)
