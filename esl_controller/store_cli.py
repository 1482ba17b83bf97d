"""`esl-controller store add|list|set`: the stores of a chain sharing one database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlmodel import Session

from esl_controller import audit, db
from esl_controller.models import Store
from esl_controller.stores import (
    StoreChange,
    StoreError,
    UnknownStore,
    add_store,
    list_stores,
    update_store,
)


@click.group()
def store() -> None:
    """Stores of the chain: add, list, change (every change is in the audit log)."""


def _store_options(command: Callable) -> Callable:
    for option in reversed(
        (
            click.option("--timezone", default=None, help="IANA zone, e.g. Europe/Bucharest."),
            click.option("--locale", default=None, help="How labels print money, e.g. ro_RO."),
            click.option("--currency", default=None, help="ISO 4217 code, e.g. RON."),
            click.option(
                "--erp-feed", "erp_feed_url", default=None, help="This store's ERP feed URL."
            ),
            click.option(
                "--delisting-ratio",
                type=float,
                default=None,
                help="Largest share of products one full sync may delist (0-1).",
            ),
            click.option(
                "--erp-feed-scope",
                type=click.Choice(["store", "chain", ""]),
                default=None,
                help="store: the feed is this store's alone; chain: head office's one feed, "
                "each record naming its store. Empty: ESL_ERP_FEED_SCOPE.",
            ),
            click.option(
                "--odoo-warehouse",
                type=click.IntRange(min=0),
                default=None,
                help="This store's Odoo warehouse id (its stock). 0: ESL_ODOO_WAREHOUSE.",
            ),
        )
    ):
        command = option(command)
    return command


def _change(session_work: Callable[[Session], Store]) -> Store:
    """Run one change in its own transaction; a refusal is a message, not a traceback."""
    try:
        with db.command_session() as (session, _settings):
            store = session_work(session)
            session.commit()
            return store
    except (StoreError, UnknownStore) as exc:
        raise click.ClickException(str(exc.args[0])) from exc


@store.command("add")
@click.argument("store_id")
@click.option("--name", required=True, help="A name people recognise.")
@_store_options
def store_add(store_id: str, name: str, **settings: Any) -> None:
    """Add a store; its worker then runs with ESL_STORE_ID set to STORE_ID."""
    change = StoreChange(name, **settings)  # the options are StoreChange's fields
    row = _change(lambda session: add_store(session, store_id, change, audit.CLI_ACTOR))
    click.echo(f"added store {row.id} ({row.name}, {row.timezone}, {row.locale}, {row.currency})")


@store.command("set")
@click.argument("store_id")
@click.option("--name", default=None, help="A name people recognise.")
@_store_options
def store_set(store_id: str, name: str | None, **settings: Any) -> None:
    """Change a store; an empty --erp-feed (--erp-feed-scope, or --odoo-warehouse 0) goes
    back to the environment's ESL_ERP_URL (ESL_ERP_FEED_SCOPE, ESL_ODOO_WAREHOUSE)."""
    change = StoreChange(name, **settings)
    row = _change(lambda session: update_store(session, store_id, change, audit.CLI_ACTOR))
    click.echo(f"changed store {row.id}")


@store.command("list")
def store_list() -> None:
    """Every store: id, name, time zone, locale, currency, ERP feed, delisting ratio, ERP
    feed scope, Odoo warehouse; "(default)" marks a value the environment gives."""
    with db.command_session() as (session, settings):
        for row in list_stores(session):
            feed = row.erp_feed_url or f"(default) {settings.erp_url or '-'}"
            ratio = row.delisting_ratio
            ratio_text = (
                f"{ratio:g}" if ratio is not None else f"(default) {settings.delist_safety_ratio:g}"
            )
            scope = row.erp_feed_scope or f"(default) {settings.erp_feed_scope}"
            warehouse = (
                str(row.odoo_warehouse)
                if row.odoo_warehouse is not None
                else f"(default) {settings.odoo_warehouse or '-'}"
            )
            click.echo(
                f"{row.id}\t{row.name}\t{row.timezone}\t{row.locale}\t{row.currency}\t"
                f"{feed}\t{ratio_text}\t{scope}\t{warehouse}"
            )
