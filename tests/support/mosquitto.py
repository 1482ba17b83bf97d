"""A private Mosquitto started by a test on a free port, with the config the test wrote."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_mosquitto(directory: Path, *, acl: Path, passwd: Path) -> Iterator[int]:
    """Run mosquitto with only authenticated clients, `acl` and `passwd`; yield its port."""
    assert MOSQUITTO, "check MOSQUITTO before calling"
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                "per_listener_settings false",
                "allow_anonymous false",
                f"password_file {passwd}",
                f"acl_file {acl}",
                "persistence false",
                f"user {getpass.getuser()}",  # started as root it would switch to `mosquitto`
                f"listener {port} 127.0.0.1",
                "log_dest stderr",
                "",
            ]
        )
    )
    log = (directory / "mosquitto.log").open("w")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(directory / 'mosquitto.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
