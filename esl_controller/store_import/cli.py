"""`esl-controller store import`: bring a single-store database into a chain database."""

from __future__ import annotations

from pathlib import Path

import click

from esl_controller.config import Settings


# Joins the `store` group (esl_controller.store_cli) in esl_controller.cli.
@click.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--into",
    "target_url",
    default=None,
    metavar="DATABASE_URL",
    help="The chain database (default ESL_DATABASE_URL), e.g. postgresql://esl@hq:5432/esl.",
)
def import_command(source: Path, target_url: str | None) -> None:
    """Import the store in SOURCE (an esl-controller SQLite file, any schema version) into
    the chain database, in one transaction.

    SOURCE is not changed: a copy of it is migrated and read. Rows with numbered ids take
    new ones (and every row naming them follows); device ids and the impression log keep
    theirs. The import is refused, with nothing written, if the store is already there, a
    device id or unique value is taken, or both databases have an impression log."""
    from tqdm import tqdm

    from esl_controller import db
    from esl_controller.store_import.importer import StoreImportError, import_store

    url = target_url or Settings.from_env().resolved_database_url
    if url.startswith("sqlite") and _same_file(url, source):
        raise click.UsageError(f"{source} is the chain database itself: give --into")
    engine = db.make_engine(url)
    bar = tqdm(total=0, unit="row", desc="importing")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        summary = import_store(source, engine, progress)
    except (StoreImportError, db.SchemaError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
        engine.dispose()
    click.echo(f"imported store {summary.store_id}: {summary.total} rows")
    for table, rows in summary.rows.items():
        if rows:
            click.echo(f"  {table}: {rows}")
    for table, rows in summary.renumbered.items():
        if rows:
            click.echo(f"  {table}: {rows} rows took new ids")
    for table, rows in summary.already_there.items():
        click.echo(f"  {table}: {rows} identical rows were already there")
    click.echo(
        "copy the store's media files (ESL_DATA_DIR/media) to where head office serves media"
    )


def _same_file(url: str, source: Path) -> bool:
    path = url.removeprefix("sqlite:///")
    return bool(path) and path != ":memory:" and Path(path).resolve() == source.resolve()
