"""Schema 7 for the ads tables: CPMs in each currency's minor unit, the chain at v2.

Before schema 6 a CPM was stored as its major amount x 100 whatever the currency, so JPY
billed 100 times too much and KWD 10 times too little. This step converts every stored CPM
(campaigns, impression rows) and every spend basis (roll-ups, live totals) to the currency's
minor units (`from_hundredths`), records an incident for any JPY-like amount that
had a fraction of a yen and was rounded, then re-hashes the raw impression chain in the v2
form (`v2_record_hash`) and rebuilds the live hourly totals from it. Chains of earlier
schemas had no signed checkpoint; the incident names the old and new heads so a buyer
holding an old report's `chain_head` can be told where it went.

The currency table and the v2 hashing are frozen copies of `ads.currency` and `ads.chain`
as they were when schema 7 shipped (see the package docstring).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from esl_controller.clock import utcnow
from esl_controller.models import (
    Campaign,
    Impression,
    ImpressionHourly,
    ImpressionHourTotal,
    Incident,
)

PAGE_ROWS = 5_000

# -- frozen: the ISO 4217 exponents that differ from 2, as of schema 7 ----------------------
V7_MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# -- frozen: the chain's v2 serialisation ----------------------------------------------------
V2_CHAIN_VERSION = "esl-impression-v2"
V2_GENESIS_HASH = "0" * 64
V2_BILLED_FIELDS = (
    "play_id",
    "campaign_id",
    "advertiser_id",
    "creative_id",
    "player_id",
    "zone_id",
    "started_at",
    "play_ms",
    "multiplier_milli",
    "multiplier_source",
    "impressions_milli",
    "cpm_minor",
    "currency",
)


def minor_digits(code: str) -> int:
    return V7_MINOR_DIGITS.get(code.upper(), 2)


def divide_half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def from_hundredths(amount_hundredths: int, code: str) -> tuple[int, bool]:
    """A CPM kept as major x 100 in the currency's minor units, rounded half up; exact?"""
    digits = minor_digits(code)
    if digits >= 2:
        return amount_hundredths * 10 ** (digits - 2), True
    divisor = 10 ** (2 - digits)
    quotient, remainder = divmod(amount_hundredths, divisor)
    if 2 * remainder >= divisor:
        quotient += 1
    return quotient, remainder == 0


def _v2_value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None or isinstance(value, str) or (type(value) is int):
        return value
    raise ValueError(f"billed field {name!r}: cannot hash a {type(value).__name__}")


def v2_record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """sha256(prev_hash + newline + sha256(compact JSON of the version and billed fields))."""
    values = [V2_CHAIN_VERSION, *(_v2_value(n, fields[n]) for n in V2_BILLED_FIELDS)]
    body = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(f"{prev_hash}\n{digest}".encode("ascii")).hexdigest()


def migrate(conn: Connection, refill_hour_totals: Callable[[Connection], None]) -> None:
    rounded = _convert_campaigns(conn)
    _convert_rollups(conn)
    old_head, new_head = _rechain(conn)
    conn.execute(delete(ImpressionHourTotal))
    refill_hour_totals(conn)
    notes = [f"campaign {cid}: CPM {note}" for cid, note in rounded]
    if old_head != new_head:
        notes.append(
            f"impression chain re-hashed as {V2_CHAIN_VERSION}: head seq {old_head[0]} "
            f"{old_head[1]} is now {new_head[1]}"
        )
    if notes:
        conn.execute(
            Incident.__table__.insert(),
            [
                {
                    "kind": "schema_6_minor_units",
                    "subject": "",
                    "message": n,
                    "created_at": utcnow(),
                }
                for n in notes
            ],
        )


def _convert_campaigns(conn: Connection) -> list[tuple[int, str]]:
    table = Campaign.__table__
    rounded: list[tuple[int, str]] = []
    updates = []
    for row in conn.execute(select(table.c.id, table.c.cpm_minor, table.c.currency)):
        minor, exact = from_hundredths(row.cpm_minor, row.currency)
        if minor != row.cpm_minor:
            updates.append({"key": row.id, "cpm": minor})
        if not exact:
            old = f"{row.cpm_minor / 100:.2f}"
            rounded.append((row.id, f"{old} {row.currency} rounded to {minor} (no minor unit)"))
    if updates:
        conn.execute(
            update(table).where(table.c.id == bindparam("key")).values(cpm_minor=bindparam("cpm")),
            updates,
        )
    return rounded


def _affected_currencies(conn: Connection, column) -> list[str]:
    found = conn.execute(select(column).distinct()).scalars()
    return [code for code in found if code and minor_digits(code) != 2]


def _convert_rollups(conn: Connection) -> None:
    table = ImpressionHourly.__table__
    for code in _affected_currencies(conn, table.c.currency):
        digits = minor_digits(code)
        rows = conn.execute(
            select(table.c.id, table.c.spend_basis).where(table.c.currency == code)
        ).all()
        if digits >= 2:
            converted = [(row.id, row.spend_basis * 10 ** (digits - 2)) for row in rows]
        else:
            converted = [
                (row.id, divide_half_up(row.spend_basis, 10 ** (2 - digits))) for row in rows
            ]
        if converted:
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("key"))
                .values(spend_basis=bindparam("basis")),
                [{"key": key, "basis": basis} for key, basis in converted],
            )


def _rechain(conn: Connection) -> tuple[tuple[int, str], tuple[int, str]]:
    """Convert each raw row's CPM and re-hash the rows in seq order from the link the first
    one has (GENESIS, or the last roll-up's segment hash); returns the (seq, hash) head
    before and after."""
    table = Impression.__table__
    columns = [table.c.seq, table.c.prev_hash, table.c.hash] + [
        table.c[name] for name in V2_BILLED_FIELDS
    ]
    old_head = new_head = (0, V2_GENESIS_HASH)
    prev: str | None = None
    after = 0
    while True:
        page = conn.execute(
            select(*columns).where(table.c.seq > after).order_by(table.c.seq).limit(PAGE_ROWS)
        ).all()
        if not page:
            break
        updates = []
        for row in page:
            if prev is None:
                prev = row.prev_hash
            fields = {name: row._mapping[name] for name in V2_BILLED_FIELDS}
            fields["cpm_minor"] = from_hundredths(row.cpm_minor, row.currency)[0]
            new_hash = v2_record_hash(prev, fields)
            updates.append(
                {"key": row.seq, "prev": prev, "new": new_hash, "cpm": fields["cpm_minor"]}
            )
            old_head, new_head = (row.seq, row.hash), (row.seq, new_hash)
            prev = new_hash
        conn.execute(
            update(table)
            .where(table.c.seq == bindparam("key"))
            .values(prev_hash=bindparam("prev"), hash=bindparam("new"), cpm_minor=bindparam("cpm")),
            updates,
        )
        after = page[-1].seq
    return old_head, new_head
