"""What the wire caps cost: decode_json against plain json.loads on an ack batch, and how
fast hostile payloads are refused.

    python bench/bench_wire_json.py            # a batch of 100 acks, 2,000 rounds
    python bench/bench_wire_json.py --acks 1000 --rounds 200
"""

from __future__ import annotations

import argparse
import json
import time
import timeit

from esl_controller import wire_json


class Refused(ValueError):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    acks = [
        {"label": f"L{n:05d}", "seq": n, "ok": True, "battery": 80, "signal": -60,
         "temperature": 21.5}
        for n in range(args.acks)
    ]  # fmt: skip
    payload = json.dumps(acks).encode()
    plain = timeit.timeit(lambda: json.loads(payload), number=args.rounds) / args.rounds
    capped = (
        timeit.timeit(lambda: wire_json.decode_json("ack", payload, Refused), number=args.rounds)
        / args.rounds
    )
    print(
        f"{args.acks} acks, {len(payload):,} bytes: json.loads {plain * 1e6:.0f} us, "
        f"decode_json {capped * 1e6:.0f} us ({capped / plain:.2f}x)"
    )
    hostile = {
        "100,000-deep array": b"[" * 100_000 + b"]" * 100_000,
        "4,301-digit integer": b"[" + b"7" * 4301 + b"]",
        "1 MiB + 1 string": b'"' + b"a" * wire_json.MAX_WIRE_BYTES + b'"',
    }
    for name, body in hostile.items():
        started = time.perf_counter()
        try:
            wire_json.decode_json("msg", body, Refused)
        except Refused as exc:
            reason = str(exc)
        print(f"{name}: refused in {(time.perf_counter() - started) * 1e3:.2f} ms ({reason})")


if __name__ == "__main__":
    main()
