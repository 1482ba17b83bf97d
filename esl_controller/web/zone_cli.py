"""`esl-controller zone list|kind`: the kinds that chain campaigns aim at, per zone.

A zone gets the slug of its name as its kind, but zones created on the fly are named by
their id ("buc-north-dairy"), and stores may name the same aisle differently ("Lactate",
"Dairy"): a person gives such a zone the kind the chain uses, so a campaign aimed at
`dairy` reaches it.
"""

from __future__ import annotations

import re

import click
from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit, db
from esl_controller.models import Zone

KIND_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_KIND_LENGTH = 64


class ZoneKindError(ValueError):
    """A zone kind that cannot be set, in words a store worker understands."""


def set_zone_kind(session: Session, zone_id: str, kind: str, *, actor: str) -> Zone:
    """Give the zone `kind` (audited as `zone.kind` with before and after)."""
    if len(kind) > MAX_KIND_LENGTH or not KIND_PATTERN.fullmatch(kind):
        raise ZoneKindError(
            f"a zone kind is lower-case letters and digits joined by single dashes, at most "
            f"{MAX_KIND_LENGTH} characters (such as dairy or fresh-produce), not {kind!r}"
        )
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise ZoneKindError(f"there is no zone {zone_id!r}")
    before = zone.kind
    zone.kind = kind
    session.add(zone)
    audit.record(
        session,
        actor=actor,
        action="zone.kind",
        target=f"zone:{zone_id}",
        detail={"before": before, "after": kind},
    )
    return zone


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
