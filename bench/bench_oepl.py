"""OpenEPaperLink driver throughput: N tags on emulated APs, from "all sent" to "all delivered".

The APs run as `esl-controller sim oepl-ap` in their own processes (so their CPU is not
the controller's); this process opens one `oepl` link per AP through the driver registry,
calls `send()` for one distinct 2.9" BWR image per tag and counts `delivered` events, the
way the dispatcher would. A delivery counts only at the tag's check-in (every `--checkin`
seconds). Reported: time from the last `send()` to the last delivery, and this process's
CPU time per label (JPEG encoding, HTTP uploads, websocket records).

    python bench/bench_oepl.py                    # 2,000 tags on 4 APs, 0.5 s check-in
    python bench/bench_oepl.py --tags 200 --aps 2
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import requests
from PIL import Image

from esl_controller.config import Settings
from esl_controller.esl.link import Command, CommandKind, StationConfig
from esl_controller.esl.registry import DriverContext, load_driver
from esl_controller.labels.planes import PackedImage, pack_image

ROOT = Path(__file__).resolve().parent.parent


class CountingEvents:
    """The dispatcher's side, reduced to counting what the benchmark needs."""

    def __init__(self) -> None:
        self.confirmed: dict[str, int] = {}
        self.online: set[str] = set()
        self.heard = 0
        self.other: dict[str, int] = {}
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.expected = 0

    def delivered(self, station_id, label_id, seq, telemetry=None) -> None:
        with self._lock:
            self.confirmed[label_id] = seq
            if self.expected and len(self.confirmed) >= self.expected:
                self.done.set()

    def _count(self, name: str) -> None:
        with self._lock:
            self.other[name] = self.other.get(name, 0) + 1

    def refused(self, station_id, label_id, seq, reason) -> None:
        self._count("refused")
        print(f"refused {label_id}: {reason}", file=sys.stderr)

    def busy(self, station_id, label_id, seq, retry_after_s) -> None:
        self._count("busy")

    def station_online(self, station_id, info) -> None:
        with self._lock:
            self.online.add(station_id)

    def station_offline(self, station_id, reason) -> None:
        self._count("offline")

    def labels_heard(self, station_id, labels) -> None:
        with self._lock:
            self.heard += len(labels)

    def malformed(self, station_id, kind, detail) -> None:
        self._count(f"malformed:{kind}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _images(count: int) -> list[PackedImage]:
    """Distinct 296x128 BWR pictures (blocks of black and red, like a price label's)."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(count):
        pixels = np.zeros((128, 296), np.uint8)
        for _ in range(10):
            x, y = int(rng.integers(0, 270)), int(rng.integers(0, 100))
            pixels[y : y + int(rng.integers(6, 28)), x : x + int(rng.integers(6, 28))] = int(
                rng.integers(1, 3)
            )
        out.append(pack_image(Image.fromarray(pixels, mode="P"), "BWR"))
    return out


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/sysinfo", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"emulated AP at {url} did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=2000, help="tags in total")
    parser.add_argument("--aps", type=int, default=4)
    parser.add_argument("--checkin", type=float, default=0.5)
    parser.add_argument("--wait", type=float, default=600, help="give up after this many s")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="the driver's HTTP timeout (timeout_s)"
    )
    args = parser.parse_args()
    per_ap = args.tags // args.aps
    total = per_ap * args.aps

    ports = [_free_port() for _ in range(args.aps)]
    aps = [
        subprocess.Popen(
            [sys.executable, "-m", "esl_controller.cli", "sim", "oepl-ap", "--tags", str(per_ap),
             "--checkin", str(args.checkin), "--port", str(port),
             "--mac-prefix", f"{0x0000021F + index:08X}"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for index, port in enumerate(ports)
    ]  # fmt: skip
    try:
        for port in ports:
            _wait_http(f"http://127.0.0.1:{port}")
        images = _images(total)
        events = CountingEvents()
        events.expected = total
        driver = load_driver("oepl", DriverContext(settings=Settings.from_env()))
        links = []
        for index, port in enumerate(ports):
            config = StationConfig(
                f"ap-{index + 1}",
                "bench",
                "oepl",
                {"url": f"http://127.0.0.1:{port}", "timeout_s": args.timeout},
            )
            link = driver.open(config, events)
            link.start()
            links.append(link)
        deadline = time.monotonic() + 60
        while len(events.online) < args.aps or events.heard < total:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(events.online)} APs online, {events.heard} heard")
            time.sleep(0.05)
        macs = []
        for port in ports:
            pos = 0
            while True:
                page = requests.get(
                    f"http://127.0.0.1:{port}/get_db", params={"pos": pos}, timeout=10
                ).json()
                macs += [(port, tag["mac"]) for tag in page["tags"]]
                if "continu" not in page:
                    break
                pos = page["continu"]
        by_port = {port: link for port, link in zip(ports, links, strict=True)}
        process = psutil.Process()
        cpu_before = process.cpu_times()
        started = time.monotonic()
        for seq, ((port, mac), image) in enumerate(zip(macs, images, strict=True), start=1):
            link = by_port[port]
            link.send(Command(seq, mac, link.station_id, CommandKind.IMAGE, seq, image))
        sent = time.monotonic()
        finished = False
        while not finished and time.monotonic() - sent < args.wait:
            finished = events.done.wait(timeout=10)
            print(f"  {time.monotonic() - sent:5.0f} s: {len(events.confirmed)} delivered, "
                  f"{events.other or ''}", file=sys.stderr, flush=True)  # fmt: skip
        ended = time.monotonic()
        cpu_after = process.cpu_times()
        for link in links:
            link.stop()
    finally:
        for ap in aps:
            ap.terminate()
        for ap in aps:
            ap.wait(timeout=10)
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    print(f"tags: {total} on {args.aps} emulated APs, check-in every {args.checkin} s")
    print(f"send() for all: {(sent - started) * 1000:.0f} ms (it only queues)")
    print(
        f"all sent -> all delivered: {ended - sent:.1f} s "
        f"({len(events.confirmed)} delivered{'' if finished else ', TIMED OUT'}; "
        f"{total / (ended - started):.0f} labels/s)"
    )
    print(f"controller CPU: {cpu:.2f} s, {cpu / total * 1000:.2f} ms per label")
    print(f"other events: {events.other or 'none'}")
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
