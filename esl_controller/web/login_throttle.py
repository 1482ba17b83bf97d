"""The login throttle: too many failed logins for one username, or from one client address,
and further attempts are refused for the rest of the window, right password or not.

Counts live in `login_failure_window`, so every web process refuses the same guesser. Each
attempt is counted before its password is checked, with one atomic INSERT ... ON CONFLICT
DO UPDATE ... RETURNING (SQLite and PostgreSQL both), so parallel guesses cannot slip past
the limit between a read and a write; a successful login takes its attempt back and clears
the username's count. Unknown and known usernames are counted alike, so the throttle does
not tell which usernames exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from esl_controller.models import LoginFailureWindow
from esl_controller.web.i18n import ngettext_

WINDOW_S = 15 * 60
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class Attempt:
    """One login attempt as the throttle counted it."""

    allowed: bool
    keys: tuple[str, str]  # the username's and the address's key
    window_index: int
    retry_after_s: int


def user_key(username: str) -> str:
    return f"user:{username.casefold()}"


def address_key(address: str) -> str:
    return f"addr:{address}"


def begin(engine: Engine, username: str, address: str, now: datetime) -> Attempt:
    """Count one attempt; `allowed` is False once either count is over its limit."""
    epoch_s = now.timestamp()
    index = math.floor(epoch_s / WINDOW_S)
    keys = (user_key(username), address_key(address))
    with engine.begin() as conn:
        user_count = count_in_window(conn, keys[0], index)
        address_count = count_in_window(conn, keys[1], index)
        # Windows that ended are done with, whoever they counted: the table stays small
        # even when a guesser tries a new username or address every time.
        conn.execute(delete(LoginFailureWindow).where(LoginFailureWindow.window_index < index))
    allowed = user_count <= MAX_FAILURES_PER_USERNAME and address_count <= MAX_FAILURES_PER_ADDRESS
    retry_after = max(1, math.ceil((index + 1) * WINDOW_S - epoch_s))
    return Attempt(allowed, keys, index, retry_after)


def succeeded(engine: Engine, attempt: Attempt) -> None:
    """The password was right: forget the username's failures, take back the address's
    count of this attempt."""
    user, address = attempt.keys
    with engine.begin() as conn:
        conn.execute(delete(LoginFailureWindow).where(LoginFailureWindow.key == user))
        conn.execute(
            update(LoginFailureWindow)
            .where(
                LoginFailureWindow.key == address,
                LoginFailureWindow.window_index == attempt.window_index,
            )
            .values(count=LoginFailureWindow.count - 1)
        )


def refusal_message(attempt: Attempt) -> str:
    minutes = max(1, math.ceil(attempt.retry_after_s / 60))
    return ngettext_(
        "Too many failed logins. Wait %(num)s minute and try again.",
        "Too many failed logins. Wait %(num)s minutes and try again.",
        minutes,
    ) % {"num": minutes}


def count_in_window(conn: Connection, key: str, index: int) -> int:
    """One more for `key` in window `index`, atomically; the new count."""
    table = LoginFailureWindow.__table__
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(key=key, window_index=index, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_index"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    return int(conn.execute(statement).scalar_one())
