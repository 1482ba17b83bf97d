"""What a set of labels shows: their products, stores, promotions and price history, read
in a few queries, and the render job of each label.

Each label is judged alone: whatever is wrong with one label's product (unbound, unknown,
an invalid GTIN, content that cannot be built) marks that label (`last_error`, an incident
of its kind) and every other label goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.catalogue.prior_price import FakeDiscount
from esl_controller.incidents import record_incident
from esl_controller.labels.content import LabelContent, build_label_content, refused_promotion
from esl_controller.labels.render_pool import RenderJob
from esl_controller.models import Incident, Label, PriceHistory, Product, Promotion, Store

PRIOR_PRICE_WINDOW = timedelta(days=30)
PROMOTION_REFUSED = "promotion_not_a_reduction"


def as_aware_utc(moment: datetime) -> datetime:
    # SQLite hands a bare DATETIME column back naive; every stored time is UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


ProblemCounts = MutableMapping[str, int]  # incident kind -> labels marked with it


class LabelProblem(ValueError):
    """Why a label cannot be rendered; `kind` is the incident kind the manager sees."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def render_jobs(
    session: Session,
    label_ids: Sequence[str],
    now: datetime,
    problems: ProblemCounts,
    delisted_template: str = "not_for_sale",
    fake_discount: FakeDiscount = FakeDiscount.PLAIN,
) -> Iterable[RenderJob]:
    """The render job of each label that can have one; the others are marked and counted."""
    labels = session.scalars(select(Label).where(Label.id.in_(label_ids))).all()
    for missing in sorted(set(label_ids) - {label.id for label in labels}):
        problems["unknown_label"] += 1
        record_incident(session, "unknown_label", missing, "refresh asked for an unknown label")
    catalogue = CatalogueSlice.load(session, labels, now, delisted_template, fake_discount)
    refused_promotions(catalogue, session)
    for label in labels:
        try:
            yield catalogue.job_for(label)
        except LabelProblem as problem:
            mark_label_problem(session, label.id, problem.kind, str(problem), problems)
        except Exception as exc:  # e.g. a unit price out of range: this label only
            message = f"cannot build its content: {type(exc).__name__}: {exc}"
            mark_label_problem(session, label.id, "content_error", message, problems)


@dataclass
class CatalogueSlice:
    """Everything the content of a set of labels depends on, loaded in a few queries."""

    now: datetime
    products: dict[int, Product]
    stores: dict[str, Store]
    promotions: dict[int, list[Promotion]]
    history: dict[int, list[PriceHistory]]
    delisted_template: str = "not_for_sale"
    fake_discount: FakeDiscount = FakeDiscount.PLAIN

    @classmethod
    def load(
        cls,
        session: Session,
        labels: Sequence[Label],
        now: datetime,
        delisted_template: str = "not_for_sale",
        fake_discount: FakeDiscount = FakeDiscount.PLAIN,
    ) -> CatalogueSlice:
        products = _by_id(session, Product, {lb.product_id for lb in labels if lb.product_id})
        promotions = _promotions_by_product(session, products.keys(), now)
        return cls(
            now=now,
            products=products,
            stores={store.id: store for store in session.scalars(select(Store)).all()},
            promotions=promotions,
            history=_history_by_product(session, promotions.keys()),
            delisted_template=delisted_template,
            fake_discount=fake_discount,
        )

    def job_for(self, label: Label) -> RenderJob:
        if label.product_id is None:
            raise LabelProblem("unbound_label", "label is not bound to a product")
        product = self.products.get(label.product_id)
        if product is None:
            raise LabelProblem(
                "unknown_product", f"bound to product {label.product_id}, which does not exist"
            )
        try:
            validate_gtin(product.gtin)
        except InvalidGTIN as exc:
            raise LabelProblem(
                "invalid_gtin", f"product {product.name!r} has GTIN {product.gtin!r}: {exc}"
            ) from exc
        content = _content(
            product,
            self.stores.get(product.store_id),
            self.history,
            self.promotions,
            self.now,
            self.fake_discount,
        )
        # A delisted product's label says so instead of showing a stale price.
        template = self.delisted_template if product.status == "delisted" else label.template
        return RenderJob(label.id, template, label.model, content)


def _content(
    product: Product,
    store: Store | None,
    history: dict[int, list[PriceHistory]],
    promotions: dict[int, list[Promotion]],
    now: datetime,
    fake_discount: FakeDiscount,
) -> LabelContent:
    store = store or Store(id=product.store_id, name=product.store_id)
    return build_label_content(
        product,
        store,
        history.get(product.id, []),
        promotions.get(product.id, []),
        now,
        fake_discount,
    )


def refused_promotions(catalogue: CatalogueSlice, session: Session) -> None:
    """One `promotion_not_a_reduction` incident per refused promotion, however often it renders."""
    for product_id, promotions in catalogue.promotions.items():
        product = catalogue.products.get(product_id)
        if product is None:
            continue
        refused = refused_promotion(
            product,
            catalogue.history.get(product_id, []),
            promotions,
            catalogue.now,
            catalogue.fake_discount,
        )
        if refused is None:
            continue
        subject = f"promotion:{refused.id}"
        already = session.scalars(
            select(Incident.id).where(
                Incident.kind == PROMOTION_REFUSED, Incident.subject == subject
            )
        ).first()
        if already is None:
            record_incident(
                session,
                PROMOTION_REFUSED,
                subject,
                f"promotion {refused.id} of product {product.name!r} ({product.gtin}) at "
                f"{refused.price_minor} minor units is not below the 30-day prior price; "
                "refused by ESL_FAKE_DISCOUNT=refuse, the label shows the regular price",
            )


def _by_id(session: Session, model: type, ids: set) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids))).all()}


def _promotions_by_product(
    session: Session, product_ids: Iterable[int], now: datetime
) -> dict[int, list[Promotion]]:
    ids = list(product_ids)
    result: dict[int, list[Promotion]] = defaultdict(list)
    if not ids:
        return result
    # A running promotion's prior price is the lowest of the 30 days before its own start,
    # so earlier promotions count back to 30 days before the oldest running one began.
    oldest_running = session.scalars(
        select(Promotion.starts_at)
        .where(Promotion.product_id.in_(ids), Promotion.starts_at <= now, Promotion.ends_at > now)
        .order_by(Promotion.starts_at)
        .limit(1)
    ).first()
    since = now
    if oldest_running is not None:
        since = min(now, as_aware_utc(oldest_running))
    rows = session.scalars(
        select(Promotion).where(
            Promotion.product_id.in_(ids),
            Promotion.starts_at <= now,
            Promotion.ends_at > since - PRIOR_PRICE_WINDOW,
        )
    )
    for promo in rows:
        result[promo.product_id].append(promo)
    return result


def _history_by_product(
    session: Session, product_ids: Iterable[int]
) -> dict[int, list[PriceHistory]]:
    """Price history only where a promotion needs the prior-price rule: keeps chunks light."""
    ids = list(product_ids)
    result: dict[int, list[PriceHistory]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(PriceHistory)
        .where(PriceHistory.product_id.in_(ids))
        .order_by(PriceHistory.effective_at)
    )
    for point in rows:
        result[point.product_id].append(point)
    return result


def mark_label_problem(
    session: Session, label_id: str, kind: str, message: str, problems: ProblemCounts
) -> None:
    """Why this label shows nothing new: on the label, as an incident, and in the count."""
    problems[kind] += 1
    label = session.get(Label, label_id)
    record_incident(session, kind, label_id, message, store_id=label.store_id if label else None)
    session.execute(update(Label).where(Label.id == label_id).values(last_error=message))
