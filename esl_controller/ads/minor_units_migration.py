"""Schema 6 for the ads tables: CPMs in each currency's minor unit, the chain at v2.

Before schema 6 a CPM was stored as its major amount x 100 whatever the currency, so JPY
billed 100 times too much and KWD 10 times too little. This step converts every stored CPM
(campaigns, impression rows) and every spend basis (roll-ups, live totals) to the currency's
minor units (`currency.from_hundredths`), records an incident for any JPY-like amount that
had a fraction of a yen and was rounded, then re-hashes the raw impression chain in the v2
form (`chain.record_hash`) and rebuilds the live hourly totals from it. Chains of earlier
schemas had no signed checkpoint; the incident names the old and new heads so a buyer
holding an old report's `chain_head` can be told where it went.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from esl_controller.ads import chain, currency
from esl_controller.ads.impressions import divide_half_up
from esl_controller.clock import utcnow
from esl_controller.db import fill_impression_hour_totals
from esl_controller.models import (
    Campaign,
    Impression,
    ImpressionHourly,
    ImpressionHourTotal,
    Incident,
)

PAGE_ROWS = 5_000


def migrate(conn: Connection) -> None:
    rounded = _convert_campaigns(conn)
    _convert_rollups(conn)
    old_head, new_head = _rechain(conn)
    conn.execute(delete(ImpressionHourTotal))
    fill_impression_hour_totals(conn)
    notes = [f"campaign {cid}: CPM {note}" for cid, note in rounded]
    if old_head != new_head:
        notes.append(
            f"impression chain re-hashed as {chain.CHAIN_VERSION}: head seq {old_head[0]} "
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
        minor, exact = currency.from_hundredths(row.cpm_minor, row.currency)
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
    return [code for code in found if code and currency.minor_digits(code) != 2]


def _convert_rollups(conn: Connection) -> None:
    table = ImpressionHourly.__table__
    for code in _affected_currencies(conn, table.c.currency):
        digits = currency.minor_digits(code)
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
        table.c[name] for name in chain.BILLED_FIELDS
    ]
    old_head = new_head = (0, chain.GENESIS_HASH)
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
            fields = chain.billed_fields(row._mapping)
            fields["cpm_minor"] = currency.from_hundredths(row.cpm_minor, row.currency)[0]
            new_hash = chain.record_hash(prev, fields)
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
