"""Running a simulator from the command line: report its counters until Ctrl-C, then stop."""

from __future__ import annotations

import logging
import time
from typing import Protocol


class CountingSim(Protocol):
    def totals(self) -> object: ...

    def stop(self) -> None: ...


def report_until_interrupted(sim: CountingSim, log: logging.Logger, every_s: float = 10) -> int:
    """Log the simulator's totals every `every_s` seconds; stop it on Ctrl-C. Exit code 0."""
    try:
        while True:
            time.sleep(every_s)
            log.info("%s", sim.totals())
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    log.info("stopped: %s", sim.totals())
    return 0
