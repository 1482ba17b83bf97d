"""The pairing throttle: the two screen pairing endpoints need no login, so each client
address may ask for only so many codes, and make only so many claims that fail, per window.

Counts share the login throttle's table and window (`login_failure_window`, 15 minutes),
so every web process refuses the same caller and either throttle's clean-up of ended
windows serves both. Each request is counted before it is answered, in one atomic statement,
so parallel requests cannot slip past the limit; a claim that did not fail (its pairing is
still waiting, or it collected its credential) takes its count back. A page polling its own
claim is therefore never limited, however long it waits, while a caller trying claim
secrets, one-time links or codes is stopped after a handful (docs/screens.md has the
arithmetic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from esl_controller.models import LoginFailureWindow
from esl_controller.web.login_throttle import WINDOW_S, count_in_window

# A page asks for a new code when its code expires (10 minutes) or it reloads: at most two
# or three a window. 20 leaves room for several unpaired screens behind one address.
MAX_NEW_PAIRINGS_PER_ADDRESS = 20
# A page's claim fails once per code it outlives; a guesser's fails nearly every time.
MAX_FAILED_CLAIMS_PER_ADDRESS = 20


class PairingCall(StrEnum):
    """Which pairing endpoint a request counts against."""

    NEW = "pair-new"
    CLAIM = "pair-claim"


LIMITS = {
    PairingCall.NEW: MAX_NEW_PAIRINGS_PER_ADDRESS,
    PairingCall.CLAIM: MAX_FAILED_CLAIMS_PER_ADDRESS,
}


@dataclass(frozen=True)
class Counted:
    """One pairing request as the throttle counted it."""

    allowed: bool
    key: str
    window_index: int
    retry_after_s: int


def address_key(call: PairingCall, address: str) -> str:
    return f"{call.value}:{address}"


def begin(engine: Engine, call: PairingCall, address: str, now: datetime) -> Counted:
    """Count one request of `address` to `call`; `allowed` is False once over its limit."""
    epoch_s = now.timestamp()
    index = math.floor(epoch_s / WINDOW_S)
    key = address_key(call, address)
    with engine.begin() as conn:
        count = count_in_window(conn, key, index)
        conn.execute(delete(LoginFailureWindow).where(LoginFailureWindow.window_index < index))
    retry_after = max(1, math.ceil((index + 1) * WINDOW_S - epoch_s))
    return Counted(count <= LIMITS[call], key, index, retry_after)


def take_back(engine: Engine, counted: Counted) -> None:
    """The request did not count against the caller (a claim that did not fail)."""
    with engine.begin() as conn:
        conn.execute(
            update(LoginFailureWindow)
            .where(
                LoginFailureWindow.key == counted.key,
                LoginFailureWindow.window_index == counted.window_index,
            )
            .values(count=LoginFailureWindow.count - 1)
        )


def refusal_message(counted: Counted) -> str:
    minutes = max(1, math.ceil(counted.retry_after_s / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many pairing attempts from this screen's network address. "
        f"Wait {minutes} {unit} and try again."
    )
