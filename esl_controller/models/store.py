"""The store itself, its users and the schema version row."""

from __future__ import annotations

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


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str
    role: str = "manager"  # admin | manager | sensor | buyer
    api_token_hash: str | None = Field(default=None, index=True)
    advertiser_id: int | None = None  # a buyer sees only this advertiser's campaigns
