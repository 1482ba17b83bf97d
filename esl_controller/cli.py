"""The `esl-controller` command: demo, worker, web, broker, render, refresh, simulators, users."""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path

import click

from esl_controller.config import InsecureSettings, Settings, SettingsError


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # APScheduler logs every run of every job at INFO: noise in an operator's log.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _production_settings() -> Settings:
    """Settings for `web` and `worker`: a placeholder or weak secret stops them here."""
    settings = Settings.from_env()
    try:
        settings.require_secure_secret_key()
    except InsecureSettings as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def _wait_for_signal(stop: threading.Event | None = None) -> None:
    """Until SIGINT or SIGTERM, or until someone sets `stop`."""
    stop = stop or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


class _Commands(click.Group):
    """Every command reads the environment; a variable it cannot read is an error message
    naming the variable, as a bad option is, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """esl-controller: electronic shelf labels and in-store signage for one store."""
    _setup_logging(verbose)


@main.command()
@click.option("--products", default=300, show_default=True, help="Products in the demo store.")
@click.option("--stations", default=4, show_default=True, help="Simulated base stations.")
@click.option("--airtime", default=0.05, show_default=True, help="Seconds of radio per image.")
@click.option("--port", default=8080, show_default=True, help="Dashboard port (0: a free one).")
@click.option("--exit-when-delivered", is_flag=True, help="Stop once every label is acked.")
def demo(products: int, stations: int, airtime: float, port: int, exit_when_delivered: bool):
    """Everything in one process on embedded defaults: broker, worker, simulators, dashboard."""
    from esl_controller.demo import DemoOptions, run_demo

    options = DemoOptions(
        products=products,
        stations=stations,
        airtime_s=airtime,
        web_port=port,
        exit_when_delivered=exit_when_delivered,
    )
    sys.exit(run_demo(Settings.from_env(), options, wait=_wait_for_signal))


@main.command()
@click.option(
    "--wait-for-lease",
    is_flag=True,
    help="If another worker holds the store (e.g. one that just crashed), wait for its "
    "lease to run out instead of exiting.",
)
def worker(wait_for_lease: bool) -> None:
    """The MQTT session, scheduler and outbox of the store ESL_STORE_ID. Exactly one per store."""
    from esl_controller.stores import UnknownStore
    from esl_controller.worker import Worker
    from esl_controller.worker_lease import LEASE_SECONDS, WorkerAlreadyRunning

    settings = _production_settings()
    if not settings.mqtt_url:
        settings = settings.with_overrides(mqtt_url="mqtt://127.0.0.1:1883")
    stop, lost = threading.Event(), []

    def lease_lost(why: str) -> None:
        lost.append(why)
        stop.set()

    while True:
        try:
            running = Worker(settings, on_lease_lost=lease_lost).start()
            break
        except UnknownStore as exc:
            raise click.ClickException(str(exc.args[0])) from exc
        except WorkerAlreadyRunning as exc:
            if not wait_for_lease:
                raise click.ClickException(str(exc)) from exc
            logging.getLogger(__name__).warning("%s; waiting", exc)
            time.sleep(LEASE_SECONDS / 6)
    try:
        _wait_for_signal(stop)
    finally:
        running.stop()
    if lost:  # exits non-zero: systemd restarts it, and it waits for or refuses the store
        raise click.ClickException(f"stopped, another worker took over: {lost[0]}")


@main.command()
@click.option(
    "--kind",
    type=click.Choice(["auto", "mosquitto", "rumqttd"]),
    default="auto",
    show_default=True,
    help="auto: Mosquitto if installed, else the embedded rumqttd.",
)
@click.option("--port", default=1883, show_default=True, help="MQTT port (0: a free one).")
@click.option("--ws-port", default=0, help="MQTT over WebSockets port (0: a free one).")
def broker(kind: str, port: int, ws_port: int) -> None:
    """A local MQTT broker for development, with its state under ESL_DATA_DIR."""
    from esl_controller.broker import BrokerUnavailable, start_local_broker

    settings = Settings.from_env()
    try:
        running = start_local_broker(
            settings.data_dir, None if kind == "auto" else kind, port=port, ws_port=ws_port
        )
    except (BrokerUnavailable, OSError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{running.kind}: {running.url}  websockets: {running.ws_url}  (Ctrl-C stops)")
    try:
        _wait_for_signal()
    finally:
        running.stop()


@main.command()
@click.option("--host", default=None, help="Bind address (default ESL_WEB_HOST).")
@click.option("--port", default=None, type=int, help="Port (default ESL_WEB_PORT).")
@click.option(
    "--threads",
    default=24,
    show_default=True,
    help="Request threads; each open browser screen (/screen) holds one: 24 serve 20 screens.",
)
def web(host: str | None, port: int | None, threads: int) -> None:
    """The dashboard and JSON API (waitress). Run as many as you like."""
    import waitress

    from esl_controller.web import create_app
    from esl_controller.web.request_limits import MAX_REQUEST_BYTES

    settings = _production_settings()
    app = create_app(settings)
    waitress.serve(
        app,
        host=host or settings.web_host,
        port=port or settings.web_port,
        threads=threads,
        # A browser keeps up to six connections to a host open: 100 (the default) would
        # turn screens away long before the threads run out.
        connection_limit=max(100, 10 * threads),
        max_request_body_size=MAX_REQUEST_BYTES,  # waitress's own default is 1 GB
    )


@main.command()
@click.option("--product", "gtin", required=True, help="GTIN of the product to show.")
@click.option("--template", default="price", show_default=True)
@click.option("--model", default="2.9-bwr", show_default=True, help="Hardware model id.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG to write.")
def render(gtin: str, template: str, model: str, out: Path) -> None:
    """Write a preview PNG of exactly what a label will show."""
    from esl_controller.product_preview import render_preview_file

    try:
        render_preview_file(Settings.from_env(), gtin, template, model, out)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out}")


@main.command()
@click.option("--all", "everything", is_flag=True, help="Re-render every bound label.")
@click.option(
    "--force",
    is_flag=True,
    help="Also send images the labels already show (costs radio time: minutes per station).",
)
def refresh(everything: bool, force: bool) -> None:
    """Re-render labels and queue what differs from the shelf (the worker sends them)."""
    from tqdm import tqdm

    from esl_controller import db
    from esl_controller.esl.shelf_refresher import ShelfRefresher
    from esl_controller.labels.render_pool import RenderPool

    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    bar = tqdm(total=0, unit="label", desc="rendering")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    with RenderPool(settings.render_workers, settings.templates_dir) as pool:
        shelf = ShelfRefresher.for_store(engine, pool, settings)
        dirty = partial(shelf.everything, rerender=everything or force, resend=force)
        report = shelf.refresh(dirty, progress)
    bar.close()
    click.echo(
        f"rendered {report.rendered}, queued {report.queued}, unchanged {report.unchanged}, "
        f"errors {dict(report.errors) or 0}"
    )


def _store_settings(engine, settings: Settings) -> Settings:
    """ESL_STORE_ID's settings as its worker runs on them; an unknown store is a message."""
    from esl_controller import db, stores

    try:
        with db.session_scope(engine) as session:
            stores.bootstrap_store(session, settings.store_id)
            return stores.effective_settings(session, settings, settings.store_id)
    except stores.UnknownStore as exc:
        raise click.ClickException(str(exc.args[0])) from exc


@main.command()
@click.option("--full", is_flag=True, help="Full snapshot (delists absent products).")
def sync(full: bool) -> None:
    """Sync prices, promotions and stock from the ERP now, then queue the changed labels."""
    from tqdm import tqdm

    from esl_controller import db
    from esl_controller.erp.runner import SyncRunner
    from esl_controller.esl.shelf_refresher import ShelfRefresher
    from esl_controller.labels.render_pool import RenderPool

    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    settings = _store_settings(engine, settings)  # the store's own feed, as its worker syncs
    bar = tqdm(unit="record", desc="syncing")

    def progress(run) -> None:
        bar.n = run.fetched
        bar.set_postfix(pages=run.pages_done, changed=run.changed, rejected=run.rejected)

    with RenderPool(settings.render_workers, settings.templates_dir) as pool:
        shelf = ShelfRefresher.for_store(engine, pool, settings)
        runner = SyncRunner(
            engine, settings, lambda ids: shelf.refresh(partial(shelf.products, ids))
        )
        outcome = runner.run("cli", full=True if full else None, progress=progress)
    bar.close()
    # A chain feed's records of other stores are neither applied nor rejected: say so.
    others = f", other stores' {outcome.other_stores}" if outcome.other_stores else ""
    click.echo(
        f"run {outcome.run_id}: {outcome.status}; fetched {outcome.fetched}, changed "
        f"{outcome.changed}, rejected {outcome.rejected}, delisted {outcome.delisted}{others}"
    )
    for line in (outcome.alert, outcome.error):
        if line:
            click.echo(line, err=True)
    if outcome.status == "failed":
        sys.exit(1)


@main.group()
def history() -> None:
    """The price history the 30-day prior price is read from."""


@history.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def history_import(file: Path) -> None:
    """Import price history from an ERP CSV export (gtin;price;effective_at).

    Valid rows are added with source erp_import, rows already known are skipped, bad rows
    are listed with their row number; then the affected products' labels re-render."""
    from tqdm import tqdm

    from esl_controller import db
    from esl_controller.clock import utcnow
    from esl_controller.erp.history_import import HistoryFileError, import_history
    from esl_controller.esl.shelf_refresher import ShelfRefresher
    from esl_controller.labels.render_pool import RenderPool

    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    data = file.read_bytes()
    bar = tqdm(unit="row", desc="importing")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        with db.session_scope(engine) as session:
            summary = import_history(session, settings.store_id, data, utcnow(), progress=progress)
    except HistoryFileError as exc:
        bar.close()
        raise click.ClickException(f"{file.name}: {exc}; nothing imported") from None
    bar.close()
    click.echo(
        f"imported {summary.imported}, skipped {summary.skipped} (already known), "
        f"refused {len(summary.refused)}"
    )
    for row, reason in summary.refused:
        click.echo(f"  row {row}: {reason}", err=True)
    if summary.product_ids:
        with RenderPool(settings.render_workers, settings.templates_dir) as pool:
            shelf = ShelfRefresher.for_store(engine, pool, settings)
            report = shelf.refresh(partial(shelf.products, sorted(summary.product_ids)))
        click.echo(f"labels: rendered {report.rendered}, queued {report.queued}")


@main.command()
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@click.option("--from", "from_text", default=None, help="Store-local date or ISO date-time.")
@click.option("--to", "to_text", default=None, help="Store-local date (inclusive) or ISO.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "pdf"]), default="csv")
@click.option(
    "--group-by",
    type=click.Choice(["day", "hour", "store", "player", "zone", "creative"]),
    default="day",
    show_default=True,
)
@click.option("--store", "store_id", default=None, help="One store's plays only (its id).")
@click.option("--out", default="-", show_default=True, help="File to write, or - for stdout.")
def report(
    campaign_id: int,
    from_text: str | None,
    to_text: str | None,
    fmt: str,
    group_by: str,
    store_id: str | None,
    out: str,
) -> None:
    """A campaign's proof-of-play report (the same one buyers get), with progress."""
    from esl_controller import db
    from esl_controller.ads.report_cli import tqdm_progress, write_report

    engine = db.make_engine(Settings.from_env().resolved_database_url)
    db.init_db(engine)
    try:
        written = write_report(
            engine,
            campaign_id,
            from_text,
            to_text,
            fmt,
            group_by,
            out,
            tqdm_progress(),
            store_id=store_id,
        )
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if out != "-":
        click.echo(f"wrote {written.path} ({written.plays} plays)", err=True)


@main.command("verify-impressions")
@click.option(
    "--anchor",
    "anchor_file",
    type=click.File("r"),
    help="a signed checkpoint (JSON) you kept: the chain must still reach it unchanged",
)
@click.option(
    "--public-key",
    default=None,
    help="the store's Ed25519 public key (base64) to check --anchor with; "
    "default: the key named in the file",
)
@click.option(
    "--store",
    "store_id",
    default=None,
    help="the verdict for one store: the whole chain must link, its screens' totals reconcile",
)
@click.option(
    "--campaign",
    "campaign_id",
    type=int,
    default=None,
    help="count one campaign's records store by store",
)
def verify_impressions_command(
    anchor_file, public_key: str | None, store_id: str | None, campaign_id: int | None
) -> None:
    """Prove the impression log's hash chain is intact (no record altered or removed) and
    that the hourly totals reports read reconcile with it; one line per store after it."""
    import json

    from esl_controller import db
    from esl_controller.ads import checkpoints
    from esl_controller.ads.verify_cli import (
        anchor_from_file,
        describe,
        describe_store,
        prove_impressions,
    )

    settings = Settings.from_env()
    anchor = None
    if anchor_file is not None:
        try:
            checkpoint, key = anchor_from_file(json.load(anchor_file), public_key)
        except (ValueError, checkpoints.CheckpointError) as exc:
            raise click.ClickException(f"--anchor: {exc}") from exc
        anchor = checkpoint.anchor
        click.echo(
            f"anchor: seq {checkpoint.head_seq} signed {checkpoint.created_at:%Y-%m-%d %H:%M}Z "
            f"by key {checkpoints.key_id(key)}",
            err=True,
        )
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    store_key = checkpoints.public_key_text(checkpoints.signing_key(settings))
    try:
        proof = prove_impressions(
            engine,
            store_id=store_id,
            campaign_id=campaign_id,
            anchor=anchor,
            public_key=store_key,
        )
    except LookupError as exc:
        raise click.ClickException(f"--store: {exc}") from exc
    for store in proof.stores:
        if store.records or store_id is not None or not store.totals_ok:
            click.echo(describe_store(store), err=True)
    if not proof.result.ok:
        raise click.ClickException(describe(proof.result, proof.first_bad_store))
    click.echo(describe(proof.result))


@main.command("checkpoint-impressions")
@click.option("--out", type=click.File("w"), default="-", help="where to write it (JSON)")
def checkpoint_impressions_command(out) -> None:
    """Sign the impression chain's head now and print the checkpoint a buyer can keep."""
    import json

    from esl_controller import db
    from esl_controller.ads import checkpoints
    from esl_controller.clock import utcnow

    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    checkpoint = checkpoints.take_checkpoint(engine, settings, utcnow())
    if checkpoint is None:
        raise click.ClickException("the impression chain is empty: nothing to sign yet")
    public = checkpoints.public_key_text(checkpoints.signing_key(settings))
    json.dump(checkpoint.document(public), out, indent=2)
    out.write("\n")


@main.group()
def sim() -> None:
    """Simulators that are real MQTT / HTTP peers."""


# Each simulator parses its own arguments (argparse), so `sim X --help` is theirs.
SIMULATORS = {
    "base-station": ("esl_controller.sims.base_station:run_base_station_sim",
                     "Simulated ESL base stations (see --help)."),
    "erp": ("esl_controller.sims.erp:run_erp_sim",
            "A simulated ERP serving the generic JSON feed over HTTP (see --help)."),
    "oepl-ap": ("esl_controller.sims.oepl_ap:run_oepl_ap_sim",
                "An emulated OpenEPaperLink access point: HTTP + websocket (see --help)."),
    "player": ("esl_controller.sims.player:run_player_sim",
               "Simulated signage players: real MQTT clients reporting proof of play "
               "(see --help)."),
}  # fmt: skip


def _simulator_command(name: str, target: str, summary: str) -> click.Command:
    def run(ctx: click.Context) -> None:
        module, function = target.split(":")
        sys.exit(getattr(importlib.import_module(module), function)(list(ctx.args)))

    return click.Command(
        name,
        callback=click.pass_context(run),
        help=summary,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


for _name, (_target, _summary) in SIMULATORS.items():
    sim.add_command(_simulator_command(_name, _target, _summary))


def _add_domain_commands() -> None:
    from esl_controller.esl.cli_commands import label, station
    from esl_controller.web.screen_cli import player
    from esl_controller.web.zone_cli import zone

    main.add_command(station)
    main.add_command(label)
    main.add_command(player)
    main.add_command(zone)


_add_domain_commands()


def _add_deploy_commands() -> None:
    from esl_controller.deploy.cli import deploy

    main.add_command(deploy)


def _add_store_commands() -> None:
    from esl_controller.store_cli import store
    from esl_controller.store_import.cli import import_command

    store.add_command(import_command)
    main.add_command(store)


_add_store_commands()


_add_deploy_commands()


@main.group()
def user() -> None:
    """Users of every role and their API tokens (every change is in the audit log)."""


def _user_session():
    """A session on the configured database, brought to the current schema."""
    from esl_controller import db

    engine = db.make_engine(Settings.from_env().resolved_database_url)
    db.init_db(engine)
    return db.session_scope(engine)


def _user_change(change) -> None:
    """Run `change(session)`; a refusal or an unknown user is a message, not a traceback."""
    try:
        with _user_session() as session:
            change(session)
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc.args[0]) if exc.args else str(exc)) from exc


ROLE_NAMES = ("admin", "manager", "buyer", "sensor", "player")


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_NAMES), default="manager")
@click.option("--advertiser", "advertiser_id", type=int, help="a buyer's advertiser id")
@click.option(
    "--store", "store_id", help="the one store this user sees (none: head office, every store)"
)
@click.password_option()
def user_add(
    username: str, role: str, advertiser_id: int | None, store_id: str | None, password: str
) -> None:
    """Add a user; a buyer needs --advertiser; --store limits them to one store."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import add_user

    _user_change(
        lambda session: add_user(
            session, CLI_ACTOR, username, password, role, advertiser_id, store_id
        )
    )
    where = f" of store {store_id}" if store_id else ""
    click.echo(f"created {role} {username}{where}")


@user.command("list")
def user_list() -> None:
    """Every user with role, advertiser, status and whether they hold an API token."""
    from esl_controller.web.users import list_users

    with _user_session() as session:
        for item in list_users(session):
            advertiser = f" advertiser={item.advertiser_id}" if item.advertiser_id else ""
            advertiser += f" store={item.store_id}" if item.store_id else ""
            status = "disabled" if item.disabled else "active"
            token = "token" if item.api_token_hash else "no-token"
            click.echo(f"{item.username}\t{item.role}{advertiser}\t{status}\t{token}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: their sessions and API token stop working at once."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import set_disabled

    _user_change(lambda session: set_disabled(session, CLI_ACTOR, username, True))
    click.echo(f"disabled {username}")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import set_disabled

    _user_change(lambda session: set_disabled(session, CLI_ACTOR, username, False))
    click.echo(f"enabled {username}")


@user.command("delete")
@click.argument("username")
@click.confirmation_option(prompt="Delete this user for good?")
def user_delete(username: str) -> None:
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import delete_user

    _user_change(lambda session: delete_user(session, CLI_ACTOR, username))
    click.echo(f"deleted {username}")


@user.command("passwd")
@click.argument("username")
@click.password_option()
def user_passwd(username: str, password: str) -> None:
    """Set a new password; the user's sessions are logged out."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import change_password

    _user_change(lambda session: change_password(session, CLI_ACTOR, username, password))
    click.echo(f"new password set for {username}")


@user.command("logout-all")
@click.argument("username")
def user_logout_all(username: str) -> None:
    """End every session of the user and revoke their API token."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import log_out_everywhere

    _user_change(lambda session: log_out_everywhere(session, CLI_ACTOR, username))
    click.echo(f"logged {username} out everywhere")


@user.command("token")
@click.argument("username")
def user_token(username: str) -> None:
    """Issue an API token (shown once; only its hash is stored; replaces the old one)."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.auth import issue_api_token
    from esl_controller.web.users import record_token_issued

    tokens: list[str] = []

    def issue(session) -> None:
        tokens.append(issue_api_token(session, username))
        record_token_issued(session, CLI_ACTOR, username)

    _user_change(issue)
    click.echo(tokens[0])


@user.command("tokens")
@click.option("--revoke", "revoke", metavar="USERNAME", help="revoke this user's API token")
def user_tokens(revoke: str | None) -> None:
    """List the users holding an API token, or revoke one with --revoke."""
    from esl_controller.audit import CLI_ACTOR
    from esl_controller.web.users import list_users, revoke_token

    if revoke:
        revoked: list[bool] = []
        _user_change(lambda session: revoked.append(revoke_token(session, CLI_ACTOR, revoke)))
        click.echo(f"revoked the token of {revoke}" if revoked[0] else f"{revoke} had no token")
        return
    with _user_session() as session:
        for item in list_users(session):
            if item.api_token_hash:
                click.echo(f"{item.username}\t{item.role}")


if __name__ == "__main__":
    main()
