"""`esl-controller deploy acl`: write the broker's ACL and passwd for one store."""

from __future__ import annotations

import os
from pathlib import Path

import click

from esl_controller.config import Settings
from esl_controller.deploy.acl import DEFAULT_CONTROLLER_USER, AclError, Roster, build_acl
from esl_controller.deploy.passwd import update_passwd

ACL_FILE = "mosquitto.acl"
PASSWD_FILE = "esl.passwd"
CREDENTIALS_FILE = "esl.credentials"


@click.group()
def deploy() -> None:
    """Deployment files generated from the store's data."""


@deploy.command("acl")
@click.option("--prefix", default=None, help="Topic prefix (default ESL_TOPIC_PREFIX).")
@click.option("--store", default=None, help="Store id (default ESL_STORE_ID).")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help=f"Where {ACL_FILE}, {PASSWD_FILE} and {CREDENTIALS_FILE} go.",
)
@click.option("--station", "stations", multiple=True, help="A base station id (repeatable).")
@click.option("--player", "players", multiple=True, help="A signage player id (repeatable).")
@click.option("--sensor", "sensors", multiple=True, help="A trigger sensor id (repeatable).")
@click.option("--controller-user", default=DEFAULT_CONTROLLER_USER, show_default=True)
@click.option(
    "--database/--no-database",
    default=True,
    show_default=True,
    help="Add the stations, players and sensor accounts registered in the store database.",
)
@click.option(
    "--passwd/--no-passwd", default=True, show_default=True, help="Also write the passwd."
)
def acl_command(
    prefix: str | None,
    store: str | None,
    out_dir: Path,
    stations: tuple[str, ...],
    players: tuple[str, ...],
    sensors: tuple[str, ...],
    controller_user: str,
    database: bool,
    passwd: bool,
) -> None:
    """Write an ACL giving each device only its own topics, and a passwd to match.

    Users already in the passwd keep their password; new ones get a random one, written
    once to esl.credentials (mode 0600) for provisioning the devices.
    """
    settings = Settings.from_env()
    devices = {"stations": list(stations), "players": list(players), "sensors": list(sensors)}
    if database:
        for kind, ids in _registered(settings, store or settings.store_id).items():
            devices[kind].extend(ids)
    roster = Roster.of(
        prefix or settings.topic_prefix,
        store or settings.store_id,
        controller=controller_user,
        **devices,
    )
    try:
        acl_text = build_acl(roster)
    except AclError as exc:
        raise click.ClickException(str(exc)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ACL_FILE).write_text(acl_text, encoding="utf-8")
    click.echo(
        f"wrote {out_dir / ACL_FILE}: {len(roster.stations)} base stations, "
        f"{len(roster.players)} players, {len(roster.sensors)} sensors"
    )
    if passwd:
        _write_passwd(out_dir, roster)


def _registered(settings: Settings, store: str) -> dict[str, list[str]]:
    from esl_controller import db
    from esl_controller.deploy.roster import registered_devices

    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    try:
        with db.session_scope(engine) as session:
            return registered_devices(session, store)
    finally:
        engine.dispose()


def _write_passwd(out_dir: Path, roster: Roster) -> None:
    path = out_dir / PASSWD_FILE
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    update = update_passwd(existing, roster.users())
    _write_private(path, update.text)
    click.echo(f"wrote {path}: {len(roster.users())} users, {len(update.removed)} removed")
    if update.new_passwords:
        lines = [f"{user} {password}" for user, password in update.new_passwords.items()]
        credentials = out_dir / CREDENTIALS_FILE
        _write_private(credentials, "\n".join(lines) + "\n")
        click.echo(
            f"new passwords for {len(lines)} users in {credentials} (mode 0600): give each "
            "device its own, put the controller's in ESL_MQTT_URL, then delete the file"
        )


def _write_private(path: Path, text: str) -> None:
    """Written 0600 from the start, then moved into place: never readable by others."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
