"""/api/v1 routes of the catalogue: products with search, one product with its prior price,
and a manager's manual price or promotion while the ERP is down.

Each view's docstring carries its OpenAPI operation; the bodies are validated by the
marshmallow schemas below, which the OpenAPI document is generated from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from marshmallow import Schema, fields, validate

from esl_controller.catalogue.manual_prices import (
    MAX_REASON_LENGTH,
    MAX_WHOLE_DIGITS,
    ManualPriceRefused,
)
from esl_controller.clock import utcnow
from esl_controller.web import auth, catalogue_queries
from esl_controller.web.api import ApiError, api_blueprint, load_body, load_query
from esl_controller.web.bounded_fields import BoundedInteger
from esl_controller.web.catalogue_actions import (
    ManualOutcome,
    set_manual_price,
    set_manual_promotion,
)
from esl_controller.web.database import get_session
from esl_controller.web.schemas import PagingSchema
from esl_controller.web.store_scope import current_store_id, store_settings

bp = api_blueprint("catalogue_api", __name__)

# The schema's bound; the rules (catalogue.manual_prices) say "too many digits" in words.
_PRICE_BOUND = 10 ** (MAX_WHOLE_DIGITS + 2)


class ProductQuerySchema(PagingSchema):
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "text in the name or brand, or the first digits of the GTIN"},
    )


class ProductRowSchema(Schema):
    gtin = fields.String()
    name = fields.String()
    brand = fields.String()
    price_minor = fields.Integer()
    currency = fields.String()
    stock = fields.Integer(allow_none=True)
    stock_level = fields.String()
    status = fields.String()
    promotion_price_minor = fields.Integer(allow_none=True)
    promotion_ends_at = fields.String(allow_none=True)
    labels = fields.Integer(metadata={"description": "how many labels show the product"})
    manual_price = fields.Boolean(metadata={"description": "the price was set by a manager"})


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductRowSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class PricePointSchema(Schema):
    price_minor = fields.Integer()
    effective_at = fields.DateTime()
    source = fields.String()


class PriorPriceSchema(Schema):
    promotion_price_minor = fields.Integer()
    reduction_start = fields.DateTime()
    lowest_minor = fields.Integer(allow_none=True)
    reason = fields.String()
    label_note = fields.String(allow_none=True)
    below_lowest = fields.Boolean()


class ProductLabelSchema(Schema):
    id = fields.String()
    state = fields.String()
    template = fields.String()


class ProductPromotionSchema(Schema):
    price_minor = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    source = fields.String()
    prior_lowest_minor = fields.Integer(allow_none=True)
    not_below_low = fields.Boolean()


class ProductDetailSchema(ProductRowSchema):
    history = fields.List(fields.Nested(PricePointSchema))
    prior = fields.Nested(PriorPriceSchema, allow_none=True)
    promotions = fields.List(fields.Nested(ProductPromotionSchema))
    product_labels = fields.List(fields.Nested(ProductLabelSchema))


class ManualPriceSchema(Schema):
    price_minor = BoundedInteger(
        required=True,
        minimum=-_PRICE_BOUND,
        maximum=_PRICE_BOUND,
        metadata={"description": "the new price in minor units (1249 = 12.49)"},
    )
    reason = fields.String(required=True, validate=validate.Length(max=MAX_REASON_LENGTH * 2))


class ManualPromotionSchema(ManualPriceSchema):
    first_day = fields.Date(required=True, metadata={"description": "store-local, inclusive"})
    last_day = fields.Date(required=True, metadata={"description": "store-local, inclusive"})


class ManualOutcomeSchema(Schema):
    gtin = fields.String()
    price_minor = fields.Integer()
    labels_queued = fields.Integer()
    labels_total = fields.Integer()
    refresh_error = fields.String(
        allow_none=True,
        metadata={"description": "why the labels could not be queued now (the price is set)"},
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/products")
@auth.api_auth()
def list_products() -> Any:
    """Products, searched and paged.
    ---
    get:
      tags: [catalogue]
      summary: The store's products by name; q matches name, brand or the GTIN's first digits
      parameters:
        - in: query
          schema: ProductQuerySchema
      responses:
        200:
          description: one page of products, ordered by name
          content:
            application/json:
              schema: ProductPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(ProductQuerySchema())
    page = catalogue_queries.search_products(
        get_session(), current_store_id(), args.get("q"), args["limit"], args["offset"],
        utcnow(),
    )  # fmt: skip
    return ProductPageSchema().dump(page)


@bp.get("/products/<gtin>")
@auth.api_auth()
def get_product(gtin: str) -> Any:
    """One product with its price history, prior price and labels.
    ---
    get:
      tags: [catalogue]
      summary: Price, stock, 50 newest price changes, promotions, the label's prior price and why
      parameters:
        - in: path
          name: gtin
          required: true
          schema: {type: string}
      responses:
        200:
          description: the product
          content:
            application/json:
              schema: ProductDetailSchema
        401: Unauthorized
        404: NotFound
    """
    detail = catalogue_queries.product_detail(get_session(), current_store_id(), gtin, utcnow())
    if detail is None:
        raise ApiError(404, f"no product with GTIN {gtin!r} in this store")
    detail["product_labels"] = detail["labels"]
    detail["labels"] = detail["label_count"]
    return ProductDetailSchema().dump(detail)


@bp.post("/products/<gtin>/manual-price")
@auth.api_auth()
def manual_price(gtin: str) -> Any:
    """Set a manual price while the ERP is down (audited; the product's labels re-render).
    ---
    post:
      tags: [catalogue]
      summary: A manager's price with a reason; the ERP's next change to the product replaces it
      parameters:
        - in: path
          name: gtin
          required: true
          schema: {type: string}
      requestBody:
        content:
          application/json:
            schema: ManualPriceSchema
      responses:
        200:
          description: the price is set and the labels are queued
          content:
            application/json:
              schema: ManualOutcomeSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    body = load_body(ManualPriceSchema())
    return _manual(
        lambda: set_manual_price(
            get_session(),
            current_app.extensions["esl"].engine,
            store_settings(),
            gtin,
            body["price_minor"],
            body["reason"],
            g.api_user.username,
        )
    )


@bp.post("/products/<gtin>/manual-promotion")
@auth.api_auth()
def manual_promotion(gtin: str) -> Any:
    """Add a manual promotion over whole store-local days (audited; labels re-render).
    ---
    post:
      tags: [catalogue]
      summary: A manager's promotion with a reason; no ERP sync ends it
      parameters:
        - in: path
          name: gtin
          required: true
          schema: {type: string}
      requestBody:
        content:
          application/json:
            schema: ManualPromotionSchema
      responses:
        200:
          description: the promotion is added and the labels are queued
          content:
            application/json:
              schema: ManualOutcomeSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    body = load_body(ManualPromotionSchema())
    return _manual(
        lambda: set_manual_promotion(
            get_session(),
            current_app.extensions["esl"].engine,
            store_settings(),
            gtin,
            body["price_minor"],
            body["first_day"],
            body["last_day"],
            body["reason"],
            g.api_user.username,
        )
    )


def _manual(action: Any) -> Any:
    try:
        outcome: ManualOutcome = action()
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc
    except ManualPriceRefused as refused:
        get_session().rollback()
        return {"error": str(refused), "errors": refused.problems}, 400
    return ManualOutcomeSchema().dump(
        {
            "gtin": outcome.product.gtin,
            "price_minor": outcome.product.price_minor,
            "labels_queued": outcome.labels_queued,
            "labels_total": outcome.labels_total,
            "refresh_error": outcome.refresh_error,
        }
    )
