"""`esl-controller deploy acl`: write the broker's ACL and passwd for one store."""

from __future__ import annotations

import os
from pathlib import Path

import click

from esl_controller.config import Settings
from esl_controller.deploy.acl import DEFAULT_CONTROLLER_USER, AclError, Roster, build_acl
from esl_controller.deploy.bridge import (
    DEFAULT_HEAD_OFFICE_PREFIX,
    DEFAULT_HEAD_OFFICE_READER,
    DEFAULT_TLS_VERSION,
    TLS_VERSIONS,
    BridgeError,
    BridgeTls,
    StoreBridge,
    build_bridge_config,
    build_head_office_acl,
    head_office_users,
)
from esl_controller.deploy.passwd import update_passwd

ACL_FILE = "mosquitto.acl"
PASSWD_FILE = "esl.passwd"
CREDENTIALS_FILE = "esl.credentials"
BRIDGE_FILE = "mosquitto-bridge.conf"
HEAD_OFFICE_ACL_FILE = "head-office.acl"
HEAD_OFFICE_PASSWD_FILE = "head-office.passwd"
HEAD_OFFICE_CREDENTIALS_FILE = "head-office.credentials"


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
        _write_passwd(out_dir, roster.users(), PASSWD_FILE, CREDENTIALS_FILE, DEVICE_ADVICE)


@deploy.command("bridge")
@click.option("--store", default=None, help="Store id (default ESL_STORE_ID).")
@click.option("--prefix", default=None, help="The store's topic prefix (default ESL_TOPIC_PREFIX).")
@click.option("--head-office", "head_office", required=True, metavar="HOST:PORT")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help=f"A file holding the store's head-office password (from {HEAD_OFFICE_CREDENTIALS_FILE}).",
)
@click.option("--remote-prefix", default=DEFAULT_HEAD_OFFICE_PREFIX, show_default=True)
@click.option("--cafile", default=None, help="CA certificate of head office (default: system CAs).")
@click.option(
    "--certfile", default=None, help="The store's client certificate, if head office asks."
)
@click.option("--keyfile", default=None, help="The key of --certfile.")
@click.option(
    "--tls-version", type=click.Choice(TLS_VERSIONS), default=DEFAULT_TLS_VERSION, show_default=True
)
@click.option("--plaintext", is_flag=True, help="No TLS: a test bench or a VPN tunnel only.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(BRIDGE_FILE),
    show_default=True,
    help="Written mode 0600 (it holds the password); include it last in mosquitto.conf.",
)
def bridge_command(
    store: str | None,
    prefix: str | None,
    head_office: str,
    password_file: Path,
    remote_prefix: str,
    cafile: str | None,
    certfile: str | None,
    keyfile: str | None,
    tls_version: str,
    plaintext: bool,
    out: Path,
) -> None:
    """Write the store broker's bridge to head office: base-station status up, under the
    store's id; nothing down."""
    settings = Settings.from_env()
    host, separator, port_text = head_office.rpartition(":")
    if not separator or not port_text.isdigit():
        raise click.BadParameter(
            "give it as HOST:PORT, e.g. mqtt.hq.example:8883", param_hint="--head-office"
        )
    if plaintext and (cafile or certfile or keyfile):
        raise click.UsageError(
            "--plaintext sends no certificate: drop --cafile/--certfile/--keyfile"
        )
    tls = None if plaintext else BridgeTls(cafile, certfile, keyfile, tls_version)
    bridge = StoreBridge(
        store=store or settings.store_id,
        local_prefix=prefix or settings.topic_prefix,
        host=host,
        port=int(port_text),
        password=password_file.read_text(encoding="utf-8").strip(),
        remote_prefix=remote_prefix,
        tls=tls,
    )
    try:
        text = build_bridge_config(bridge)
    except BridgeError as exc:
        raise click.ClickException(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_private(out, text)
    click.echo(f"wrote {out}: store {bridge.store} to {host}:{bridge.port}")


@deploy.command("head-office")
@click.option("--store", "stores", multiple=True, help="A store id (repeatable).")
@click.option(
    "--database/--no-database",
    default=True,
    show_default=True,
    help="Add every store in the chain database (ESL_DATABASE_URL).",
)
@click.option("--remote-prefix", default=DEFAULT_HEAD_OFFICE_PREFIX, show_default=True)
@click.option("--reader", default=DEFAULT_HEAD_OFFICE_READER, show_default=True)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help=f"Where {HEAD_OFFICE_ACL_FILE}, {HEAD_OFFICE_PASSWD_FILE} and "
    f"{HEAD_OFFICE_CREDENTIALS_FILE} go.",
)
def head_office_command(
    stores: tuple[str, ...], database: bool, remote_prefix: str, reader: str, out_dir: Path
) -> None:
    """Write the head-office broker's ACL and passwd: one user per store bridge, which may
    write only its own store's topics, and one reader for head office."""
    store_ids = list(stores)
    if database:
        store_ids += _chain_stores(Settings.from_env())
    if not store_ids:
        raise click.UsageError("no stores: name them with --store, or use the chain database")
    try:
        acl_text = build_head_office_acl(store_ids, remote_prefix, reader)
    except AclError as exc:
        raise click.ClickException(str(exc)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / HEAD_OFFICE_ACL_FILE).write_text(acl_text, encoding="utf-8")
    users = head_office_users(store_ids, reader)
    click.echo(f"wrote {out_dir / HEAD_OFFICE_ACL_FILE}: {len(users) - 1} stores")
    _write_passwd(
        out_dir, users, HEAD_OFFICE_PASSWD_FILE, HEAD_OFFICE_CREDENTIALS_FILE, STORE_BRIDGE_ADVICE
    )


def _chain_stores(settings: Settings) -> list[str]:
    from sqlalchemy import select

    from esl_controller import db
    from esl_controller.models import Store

    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    try:
        with db.session_scope(engine) as session:
            return list(session.scalars(select(Store.id)))
    finally:
        engine.dispose()


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


DEVICE_ADVICE = "give each device its own, put the controller's in ESL_MQTT_URL"
STORE_BRIDGE_ADVICE = "give each store its own, for `deploy bridge --password-file`"


def _write_passwd(
    out_dir: Path, users: list[str], passwd_file: str, credentials_file: str, advice: str
) -> None:
    path = out_dir / passwd_file
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    update = update_passwd(existing, users)
    _write_private(path, update.text)
    click.echo(f"wrote {path}: {len(users)} users, {len(update.removed)} removed")
    if update.new_passwords:
        lines = [f"{user} {password}" for user, password in update.new_passwords.items()]
        credentials = out_dir / credentials_file
        _write_private(credentials, "\n".join(lines) + "\n")
        click.echo(
            f"new passwords for {len(lines)} users in {credentials} (mode 0600): {advice}, "
            "then delete the file"
        )


def _write_private(path: Path, text: str) -> None:
    """Written 0600 from the start, then moved into place: never readable by others."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
