"""`esl-controller player add|pair|revoke`: browser screens from the command line."""

from __future__ import annotations

import re

import click

from esl_controller import audit, db
from esl_controller.clock import utcnow
from esl_controller.web import screen_pairing


def player_id_from_name(name: str) -> str:
    """'Dairy screen' -> 'dairy-screen', for a pairing that names no id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    if not slug:
        raise click.BadParameter("give --id, or a --name with letters or digits", param_hint="--id")
    return slug


@click.group()
def player() -> None:
    """Screens: pair a browser screen, add one with a pairing link, revoke one."""


@player.command("pair")
@click.argument("code")
@click.option("--zone", required=True, help="Zone of the store the screen is in.")
@click.option("--name", required=True, help="A name people recognise.")
@click.option("--id", "player_id", default=None, help="Player id (default: from the name).")
def player_pair(code: str, zone: str, name: str, player_id: str | None) -> None:
    """Pair the screen showing CODE at /screen; it starts playing within seconds."""
    player_id = player_id or player_id_from_name(name)
    with db.command_session() as (session, settings):
        try:
            row = screen_pairing.pair(
                session,
                settings,
                code,
                player_id=player_id,
                zone=zone,
                name=name,
                actor=audit.CLI_ACTOR,
                now=utcnow(),
            )
        except screen_pairing.PairingError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"paired the screen with player {row.id} in zone {row.zone_id}")


@player.command("add")
@click.argument("player_id")
@click.option("--zone", required=True)
@click.option("--name", default="")
@click.option("--base-url", default=None, help="How screens reach the web (default: ESL_WEB_*).")
def player_add(player_id: str, zone: str, name: str, base_url: str | None) -> None:
    """Register a player and print a one-time pairing link for its screen (valid 7 days)."""
    with db.command_session() as (session, settings):
        try:
            secret = screen_pairing.add_with_link(
                session,
                settings,
                player_id=player_id,
                zone=zone,
                name=name,
                actor=audit.CLI_ACTOR,
                now=utcnow(),
            )
        except screen_pairing.PairingError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        base = (base_url or f"http://{settings.web_host}:{settings.web_port}").rstrip("/")
        click.echo(f"{base}/screen#pair={secret}")


@player.command("revoke")
@click.argument("player_id")
def player_revoke(player_id: str) -> None:
    """Take the screen's credential away: it goes back to showing a pairing code."""
    with db.command_session() as (session, _settings):
        if not screen_pairing.revoke(session, player_id, actor=audit.CLI_ACTOR):
            raise click.ClickException(f"player {player_id!r} has no screen credential")
        session.commit()
        click.echo(f"revoked the screen credential of player {player_id}")
