"""Promo slides from live catalogue data, stored as media by content hash.

A slide is built from the same `LabelContent` as the product's shelf label (price, promotion,
30-day prior price), so a screen and the label never disagree. Rendering is the slow part,
so slides are cached by the content's fingerprint: an unchanged product costs one query, a
changed price renders (and stores) a new slide with a new hash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.labels.catalogue_slice import CatalogueSlice, LabelProblem
from esl_controller.labels.content import LabelContent, content_fingerprint
from esl_controller.models import Label, Product
from esl_controller.signage.media import store_media
from esl_controller.signage.slides import render_promo_slide

log = logging.getLogger(__name__)

SLIDE_TEMPLATE = "promo_slide"
SLIDE_WIDTH = 1920
SLIDE_HEIGHT = 1080
MAX_CACHED_SLIDES = 5000


def product_contents(
    session: Session, store_id: str, gtins: Iterable[str], now: datetime
) -> dict[str, LabelContent]:
    """What each GTIN's label would show at `now`; GTINs with no active product are absent."""
    wanted = set(gtins)
    if not wanted:
        return {}
    products = session.scalars(
        select(Product).where(
            Product.gtin.in_(wanted), Product.store_id == store_id, Product.status == "active"
        )
    ).all()
    # The catalogue slice loads content for labels; transient label stand-ins (never added
    # to the session) let slides share that one code path with the shelf labels.
    stand_ins = [
        Label(
            id=f"slide:{p.gtin}",
            store_id=store_id,
            model=SLIDE_TEMPLATE,
            base_station_id="",
            product_id=p.id,
            template=SLIDE_TEMPLATE,
        )
        for p in products
    ]
    catalogue = CatalogueSlice.load(session, stand_ins, now)
    contents = {}
    for label in stand_ins:
        try:
            contents[label.id.removeprefix("slide:")] = catalogue.job_for(label).content
        except LabelProblem as problem:  # e.g. a bad GTIN: no slide, as there is no label
            log.warning("no promo slide for %s: %s", label.id, problem)
    return contents


class SlideStore:
    """Promo slide media (sha256) per GTIN, re-rendered only when the content changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sha_by_fingerprint: dict[str, str] = {}
        self.rendered = 0

    def fingerprints(self, session: Session, gtins: Iterable[str], now: datetime) -> dict[str, str]:
        """Content fingerprint per GTIN (absent: no active product): a change means re-render."""
        contents = product_contents(session, self.settings.store_id, gtins, now)
        return {gtin: self._fingerprint(content) for gtin, content in contents.items()}

    def slides(self, session: Session, gtins: Iterable[str], now: datetime) -> dict[str, str]:
        """The slide's media sha256 per GTIN that has an active product."""
        contents = product_contents(session, self.settings.store_id, gtins, now)
        return {gtin: self._slide(session, content) for gtin, content in contents.items()}

    def _fingerprint(self, content: LabelContent) -> str:
        return content_fingerprint(content, SLIDE_TEMPLATE, f"{SLIDE_WIDTH}x{SLIDE_HEIGHT}")

    def _slide(self, session: Session, content: LabelContent) -> str:
        fingerprint = self._fingerprint(content)
        sha = self._sha_by_fingerprint.get(fingerprint)
        if sha is None:
            png = render_promo_slide(content, SLIDE_WIDTH, SLIDE_HEIGHT)
            asset = store_media(
                self.settings, png, f"promo-{content.gtin}.png", "image/png", session
            )
            sha = asset.sha256
            self.rendered += 1
            if len(self._sha_by_fingerprint) >= MAX_CACHED_SLIDES:
                self._sha_by_fingerprint.clear()
            self._sha_by_fingerprint[fingerprint] = sha
            log.info("rendered promo slide for %s: %s", content.gtin, sha[:12])
        return sha
