"""The trigger guard on hostile input: the personal-data detectors must be linear in the text.

For each hostile string shape, times `personal_data_in_text` at 15, 30 and 60 KB and prints
the time per KB and the 60 KB / 15 KB ratio (about 4 for linear work, about 16 for
quadratic). Then the whole `parse_trigger` on the worst 8 KB payloads it can be handed (the
size cap refuses anything larger before it is decoded). For comparison it times, on the same
strings, the e-mail pattern the guard used before (`[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+`), which
backtracks quadratically. Takes a few seconds.

    python bench/bench_trigger_guard.py
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from esl_controller.signage.personal_data import personal_data_in_text
from esl_controller.signage.triggers import MAX_TRIGGER_BYTES, TriggerRejected, parse_trigger

SHAPES: dict[str, Callable[[int], str]] = {
    "letters": lambda n: "a" * n,
    "letters then @": lambda n: "a" * (n - 1) + "@",
    "a@ repeated": lambda n: "a@" * (n // 2),
    "a. repeated then @x": lambda n: "a." * (n // 2 - 1) + "@x",
    "digits then a letter": lambda n: "1" * (n - 1) + "a",
    "digits and spaces": lambda n: "1 " * (n // 2),
    "1.1.1. repeated": lambda n: "1.1.1." * (n // 6),
    "a: repeated": lambda n: "a:" * (n // 2),
    "Ab repeated": lambda n: "Ab " * (n // 3),
}
BASELINE = re.compile(r"(?<![0-9a-f])[0-9a-f]{12}")
OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    print("personal_data_in_text on hostile strings (best of 5)")
    print(f"{'shape':24} {'15 KB':>9} {'30 KB':>9} {'60 KB':>9} {'60/15':>6} {'µs/KB':>7}")
    rows: list[tuple[str, Callable[[int], str], Callable[[str], object]]] = [
        (name, make, personal_data_in_text) for name, make in SHAPES.items()
    ]
    # A scan that is linear for sure, to tell the machine's own scaling from the guard's.
    rows.append(("(baseline: one re scan)", SHAPES["a: repeated"], BASELINE.search))
    for name, make, work in rows:
        texts = [make(kb * 1024) for kb in (15, 30, 60)]
        times = [best_of(5, lambda t=text, w=work: w(t)) for text in texts]
        ratio = times[2] / times[0] if times[0] else float("nan")
        per_kb = times[2] / 60 * 1e6
        print(
            f"{name:24} {times[0] * 1e3:7.2f}ms {times[1] * 1e3:7.2f}ms {times[2] * 1e3:7.2f}ms "
            f"{ratio:6.1f} {per_kb:7.1f}"
        )

    print("\nthe previous e-mail pattern on the same shapes (15 KB and 30 KB only)")
    for name in ("letters", "letters then @"):
        texts = [SHAPES[name](kb * 1024) for kb in (15, 30)]
        times = [best_of(1, lambda t=text: OLD_EMAIL.search(t)) for text in texts]
        ratio = times[1] / times[0]
        print(f"{name:24} {times[0] * 1e3:9.1f}ms {times[1] * 1e3:9.1f}ms  ratio {ratio:.1f}")

    now = datetime.now(UTC)
    print(f"\nparse_trigger on {MAX_TRIGGER_BYTES}-byte payloads (best of 5)")
    room = MAX_TRIGGER_BYTES - 200
    for name in ("letters then @", "digits and spaces", "a: repeated", "Ab repeated"):
        document = {"type": "loyalty", "sensor": "cam-1", "zone": "dairy",
                    "at": now.isoformat(), "member": "ab" * 16, "consent": True,
                    "segment": SHAPES[name](room)}  # fmt: skip
        payload = json.dumps(document).encode()[:MAX_TRIGGER_BYTES]

        def judge(payload: bytes = payload) -> None:
            with contextlib.suppress(TriggerRejected):
                parse_trigger(payload, now=now, max_age_s=60, max_skew_s=5, known_zones={"dairy"})

        print(f"{name:24} {best_of(5, judge) * 1e3:7.2f}ms")


if __name__ == "__main__":
    main()
