"""The store itself, its users, their audit trail and the schema version row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class SchemaMeta(SQLModel, table=True):
    __tablename__ = "schema_meta"
    key: str = Field(primary_key=True)
    value: str


class Store(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    locale: str = "en_GB"  # decides decimal separator and symbol position on labels
    currency: str = "EUR"
    timezone: str = "UTC"
    # None: the environment's default (ESL_ERP_URL, ESL_DELIST_SAFETY_RATIO), which is all a
    # single store needs; a chain gives each store its own feed and delisting guard.
    erp_feed_url: str | None = None
    delisting_ratio: float | None = None
    # schema 18, None: the environment's (ESL_ERP_FEED_SCOPE, ESL_ODOO_WAREHOUSE). "chain":
    # the feed is head office's one feed for every store, its records naming their store.
    erp_feed_scope: str | None = None
    odoo_warehouse: int | None = None


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str
    role: str = "manager"  # admin | manager | sensor | buyer | player
    api_token_hash: str | None = Field(default=None, index=True)
    advertiser_id: int | None = None  # a buyer sees only this advertiser's campaigns
    # NULL: head office, every store of the chain; set: that store only.
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    disabled: bool = False  # a disabled user can neither log in nor use a token
    # Copied into the login session; raising it ends every session of the user at once.
    session_epoch: int = 0


class LoginFailureWindow(SQLModel, table=True):
    """Failed logins of one username or one client address in one throttle window, counted
    in the database so every web process refuses the same guesser; the screen pairing
    throttle counts its calls per address here too, in the same windows."""

    __tablename__ = "login_failure_window"
    __table_args__ = (UniqueConstraint("key", "window_index"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str  # "user:<name>", "addr:<client address>", "pair-new:…", "pair-claim:…"
    window_index: int  # whole windows since the epoch
    count: int = 0


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: one row per change a person (or the CLI) made."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    # None: a chain-level action (a store added, a user of the whole chain)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    at: datetime = Field(index=True)
    actor: str  # a username, or "cli" for the command line
    action: str = Field(index=True)  # dotted verb, e.g. "label.link", "user.disable"
    target: str  # what was changed, e.g. "label:L-0001", "user:maria"
    detail: str = "{}"  # JSON object of the change (before/after), never a secret
