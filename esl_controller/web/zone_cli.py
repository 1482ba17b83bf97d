"""`esl-controller zone list|kind`: the kinds that chain campaigns aim at, per zone
(see `web.zone_kinds`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from esl_controller import audit, db
from esl_controller.models import Zone
from esl_controller.web.zone_kinds import ZoneKindError, set_zone_kind


@click.group()
def zone() -> None:
    """Zones: list them with their kinds, and set the kind chain campaigns aim at."""


@zone.command("list")
def zone_list() -> None:
    """Every zone of every store: store, id, kind and name."""
    with db.command_session() as (session, _settings):
        rows = session.execute(
            select(Zone.store_id, Zone.id, Zone.kind, Zone.name).order_by(Zone.store_id, Zone.id)
        ).all()
    for store_id, zone_id, kind, name in rows:
        click.echo(f"{store_id}\t{zone_id}\t{kind}\t{name}")


@zone.command("kind")
@click.argument("zone_id")
@click.argument("kind")
def zone_kind(zone_id: str, kind: str) -> None:
    """Give zone ZONE_ID the kind KIND (such as dairy)."""
    with db.command_session() as (session, _settings):
        try:
            set_zone_kind(session, zone_id, kind, actor=audit.CLI_ACTOR)
        except ZoneKindError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"zone {zone_id} is of kind {kind}")
