"""Products, their price history and promotions (money in integer minor units)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class Product(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("store_id", "gtin"),
        # the catalogue page lists a store's products by name, a page at a time
        Index("ix_product_store_name", "store_id", "name"),
    )
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    gtin: str = Field(index=True)
    name: str
    brand: str = ""
    net_quantity: float | None = None  # e.g. 500 with unit "g"; drives the unit price
    unit: str = "piece"  # g, kg, ml, cl, l, cm, m, piece
    price_minor: int
    currency: str = "EUR"
    stock: int | None = None
    low_stock_threshold: int = 5
    restock_date: date | None = None
    status: str = "active"  # active | delisted
    updated_at: datetime = Field(default_factory=utcnow)
    listed_at: datetime | None = None  # first seen on sale; "new product" for the 30-day rule
    delisted_at: datetime | None = None
    erp_modified_at: datetime | None = None  # the ERP's own change time for this record


class PriceHistory(SQLModel, table=True):
    """Every effective price of a product, for the EU 30-day prior-price rule."""

    __tablename__ = "price_history"
    __table_args__ = (Index("ix_price_history_product_time", "product_id", "effective_at"),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id")
    price_minor: int
    effective_at: datetime
    source: str = "erp"


class Promotion(SQLModel, table=True):
    # One row per ERP promotion id and product: stores of a chain may share an id (head
    # office's promotion), each on its own product; within a store the sync keeps one.
    __table_args__ = (
        Index(
            "uq_promotion_source_external_product",
            "source",
            "external_id",
            "product_id",
            unique=True,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    price_minor: int
    starts_at: datetime
    ends_at: datetime
    source: str = "erp"
    external_id: str | None = None  # the ERP's id for it: re-syncing updates, never duplicates
