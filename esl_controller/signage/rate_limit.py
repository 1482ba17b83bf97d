"""Per-sensor rate limits: one misbehaving sensor cannot starve the rest of the store.

`TokenBuckets` (in memory) serves the one worker, which receives MQTT triggers; the web
processes, of which there may be many, count HTTP triggers in the database with
`FixedWindow`'s arithmetic instead (see web/trigger_rate.py).

Pure: the caller passes the clock (`now_s`, monotonic seconds), so tests replay a storm of
1,000 triggers in one second without sleeping.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


class TokenBuckets:
    """`burst` triggers at once per key, then `rate_per_s` sustained; other keys unaffected.

    At most `max_keys` buckets are kept; the least recently seen key is forgotten first
    (a forgotten sensor starts again with a full bucket, the price of bounded memory).
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 10_000) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {burst!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, last

    def allow(self, key: str, now_s: float) -> bool:
        """Take one token from `key`'s bucket at time `now_s`; False when it is empty."""
        tokens, last = self._buckets.pop(key, (float(self.burst), now_s))
        # A clock that steps back never mints tokens.
        tokens = min(float(self.burst), tokens + max(0.0, now_s - last) * self.rate_per_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, max(last, now_s))
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True)
class FixedWindow:
    """The same limit as TokenBuckets(rate_per_s, burst), counted per fixed window: at most
    `burst` triggers per window of `burst / rate_per_s` seconds, so the sustained rate is
    `rate_per_s`. A count needs only one integer per key and window, which a database can
    keep atomically for many processes (a burst straddling two windows may reach twice
    `burst`, the price of that)."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        TokenBuckets(self.rate_per_s, self.burst, max_keys=1)  # the same checks

    @property
    def length_s(self) -> float:
        return self.burst / self.rate_per_s

    def index(self, epoch_s: float) -> int:
        """Which window a moment (seconds since the epoch) falls in."""
        return math.floor(epoch_s / self.length_s)

    def retry_after_s(self, epoch_s: float) -> int:
        """Whole seconds until the next window opens (at least 1)."""
        ends = (self.index(epoch_s) + 1) * self.length_s
        return max(1, math.ceil(ends - epoch_s))

    def allows(self, count: int) -> bool:
        """Whether the `count`-th trigger of a window (1-based) is within the limit."""
        return count <= self.burst
