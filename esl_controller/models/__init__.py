"""Database tables, one module per domain; every column change bumps
`db.SCHEMA_VERSION` and adds a migration step there.

Money is stored as integer minor units (cents, bani, kopecks) next to its ISO currency
code, so no price ever passes through a float.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlmodel import SQLModel

from esl_controller.models.ads import (
    NO_CREATIVE,
    Advertiser,
    Campaign,
    Creative,
    Impression,
    ImpressionCheckpoint,
    ImpressionHourly,
    ImpressionHourTotal,
    Play,
    RejectedPlay,
    ReportDelivery,
    ReportSchedule,
)
from esl_controller.models.catalogue import (
    PriceHistory,
    Product,
    Promotion,
)
from esl_controller.models.erp import (
    DeadLetter,
    FeedPageState,
    FeedState,
    SyncRun,
)
from esl_controller.models.esl import (
    BaseStation,
    Incident,
    Label,
    OutboxMessage,
)
from esl_controller.models.screens import (
    ScreenCommand,
    ScreenHealth,
    ScreenPairing,
    ScreenReport,
)
from esl_controller.models.signage import (
    MediaAsset,
    Override,
    Player,
    PlaylistFile,
    TriggerAggregate,
    TriggerEvent,
    TriggerRateWindow,
    Zone,
    zone_kind_from_name,
)
from esl_controller.models.store import (
    AuditEntry,
    LoginFailureWindow,
    SchemaMeta,
    Store,
    User,
)


def _integers_are_64_bit() -> None:
    """Every integer column is 64-bit. PostgreSQL's INTEGER is 32: it refuses a price of
    25,000,000 rupiah in minor units, a CRC-32 of half of all images, and the ids of a
    chain's impressions within weeks. SQLite's INTEGER is 64-bit already and stays the
    declared type there, or its primary keys would stop numbering themselves."""
    wide = BigInteger().with_variant(Integer(), "sqlite")
    for table in SQLModel.metadata.tables.values():
        for column in table.columns:
            if type(column.type) is Integer:
                column.type = wide


_integers_are_64_bit()

__all__ = [
    "NO_CREATIVE",
    "Advertiser",
    "AuditEntry",
    "BaseStation",
    "Campaign",
    "Creative",
    "DeadLetter",
    "FeedPageState",
    "FeedState",
    "Impression",
    "ImpressionCheckpoint",
    "ImpressionHourTotal",
    "ImpressionHourly",
    "Incident",
    "Label",
    "LoginFailureWindow",
    "MediaAsset",
    "OutboxMessage",
    "Override",
    "Play",
    "Player",
    "PlaylistFile",
    "PriceHistory",
    "Product",
    "Promotion",
    "RejectedPlay",
    "ReportDelivery",
    "ReportSchedule",
    "SchemaMeta",
    "ScreenCommand",
    "ScreenHealth",
    "ScreenPairing",
    "ScreenReport",
    "Store",
    "SyncRun",
    "TriggerAggregate",
    "TriggerEvent",
    "TriggerRateWindow",
    "User",
    "Zone",
    "zone_kind_from_name",
]
