"""`esl-controller station ...` and `esl-controller label link|unlink|import`."""

from __future__ import annotations

from typing import BinaryIO

import click
from sqlalchemy import func, select

from esl_controller import audit, db
from esl_controller.esl import label_links, link_import, station_health, stations
from esl_controller.models import BaseStation, Label


def _parse_options(pairs: tuple[str, ...], url: str | None) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        options[key] = value
    if url:
        options["url"] = url
    return options


@click.group()
def station() -> None:
    """Base stations and access points: add, list, rename, remove."""


@station.command("add")
@click.argument("station_id")
@click.option("--driver", default="mqtt", show_default=True, help="Kind of station.")
@click.option("--url", default=None, help="Where the station answers (access points).")
@click.option("--name", default="", help="A name people recognise (e.g. 'Aisle 3').")
@click.option("--option", "pairs", multiple=True, help="Driver option KEY=VALUE (repeatable).")
def station_add(
    station_id: str, driver: str, url: str | None, name: str, pairs: tuple[str, ...]
) -> None:
    """Register a station; the worker links it within seconds."""
    with db.command_session() as (session, settings):
        try:
            row = stations.add_station(
                session, settings, station_id, driver, _parse_options(pairs, url), name
            )
        except stations.StationError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"added base station {row.id} ({row.driver}) to store {row.store_id}")


@station.command("list")
def station_list() -> None:
    with db.command_session() as (session, settings):
        counts = dict(
            session.execute(
                select(Label.base_station_id, func.count()).group_by(Label.base_station_id)
            ).all()
        )
        rows = session.scalars(
            select(BaseStation).where(BaseStation.store_id == settings.store_id)
        ).all()
        for row in rows:
            state = "online" if row.online else "offline"
            health = station_health.load_health(session, row.id, row.eta_s)
            queue = f"{health.pending} pending, {health.sent} sent"
            if health.eta.source != station_health.EtaSource.EMPTY:
                queue += f", ETA {health.eta.seconds:.0f} s ({health.eta.source})"
            if health.progress:
                queue += f", {health.progress.done} of {health.progress.total} done"
            click.echo(
                f"{row.id}\t{row.driver}\t{state}\t{counts.get(row.id, 0)} labels\t"
                f"{queue}\t{row.name}"
            )


@station.command("rename")
@click.argument("station_id")
@click.argument("name")
def station_rename(station_id: str, name: str) -> None:
    with db.command_session() as (session, settings):
        try:
            stations.rename_station(session, settings, station_id, name)
        except LookupError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
        click.echo(f"renamed {station_id} to {name!r}")


@station.command("remove")
@click.argument("station_id")
def station_remove(station_id: str) -> None:
    with db.command_session() as (session, settings):
        try:
            stations.remove_station(session, settings, station_id)
        except LookupError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
        except stations.StationError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"removed base station {station_id}")


@click.group()
def label() -> None:
    """Labels on the shelf: link one to a product, or unlink it."""


@label.command("link")
@click.argument("label_id")
@click.argument("gtin")
@click.option(
    "--template", default=None, help="Template (default: auto for a new link, else the label's)."
)
@click.option("--relink", is_flag=True, help="Move a label that shows another product.")
def label_link(label_id: str, gtin: str, template: str | None, relink: bool) -> None:
    """Show product GTIN on label LABEL_ID from its next update."""
    with db.command_session() as (session, settings):
        try:
            row = label_links.link_label(
                session, settings, label_id, gtin, template, actor=audit.CLI_ACTOR, relink=relink
            )
        except label_links.AlreadyLinked as exc:
            raise click.ClickException(f"{exc} (add --relink)") from exc
        except LookupError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
        except label_links.LinkError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"linked {row.id} to {gtin} ({row.template})")


@label.command("unlink")
@click.argument("label_id")
def label_unlink(label_id: str) -> None:
    with db.command_session() as (session, settings):
        try:
            label_links.unlink_label(session, settings, label_id, actor=audit.CLI_ACTOR)
        except LookupError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
        click.echo(f"unlinked {label_id}")


@label.command("import")
@click.argument("path", type=click.File("rb"))
@click.option("--relink", is_flag=True, help="Move labels that show another product.")
def label_import(path: BinaryIO, relink: bool) -> None:
    """Link labels from a CSV file: label id; GTIN; template (`;` or `,`, UTF-8).

    Each row is judged alone: good rows are linked, bad rows are listed with their line and
    the reason, and the command then exits with status 1."""
    with db.command_session() as (session, settings):
        try:
            report = link_import.import_links(
                session, settings, path.read(), actor=audit.CLI_ACTOR, relink=relink
            )
        except link_import.ImportFileError as exc:
            raise click.ClickException(f"nothing imported: {exc}") from exc
    click.echo(f"linked {report.linked} of {len(report.results)} rows")
    for row in report.errors:
        click.echo(f"line {row.line}: {row.label_id or '(no label)'}: {row.error}", err=True)
    if report.errors:
        raise SystemExit(1)
