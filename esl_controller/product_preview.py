"""`esl-controller render`: a product's label as a PNG, exactly as the panel will show it.

The product comes from the store database; on a machine with no database yet it comes
from the demo catalogue, so a template designer can preview without running anything.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import db
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.demo_seed import demo_label_content
from esl_controller.labels.catalogue_slice import CatalogueSlice
from esl_controller.labels.preview import write_preview
from esl_controller.labels.render_pool import LabelRenderer, RenderJob
from esl_controller.models import Label, Product


def render_preview_file(
    settings: Settings, gtin: str, template: str, model: str, out: Path
) -> None:
    job = _job_from_database(settings, gtin, template, model) or _job_from_demo(
        settings, gtin, template, model
    )
    renderer = LabelRenderer(settings.templates_dir)
    image, hardware = renderer.render(job)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_preview(out, image, hardware)


def _job_from_database(
    settings: Settings, gtin: str, template: str, model: str
) -> RenderJob | None:
    database = settings.resolved_database_url
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).exists():
        return None
    engine = db.make_engine(database)
    db.init_db(engine)
    with Session(engine) as session:
        product = session.scalars(select(Product).where(Product.gtin == gtin)).first()
        if product is None:
            return None
        label = Label(
            id="preview",
            store_id=product.store_id,
            model=model,
            base_station_id="-",
            product_id=product.id,
            template=template,
        )
        return CatalogueSlice.load(session, [label], utcnow()).job_for(label)


def _job_from_demo(settings: Settings, gtin: str, template: str, model: str) -> RenderJob:
    content = demo_label_content(settings.store_id, gtin)
    if content is None:
        raise LookupError(
            f"no product with GTIN {gtin} in {settings.resolved_database_url} "
            "or in the demo catalogue"
        )
    return RenderJob("preview", template, model, content)
