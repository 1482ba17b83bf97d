"""Database tables, one module per domain; every column change bumps
`db.SCHEMA_VERSION` and adds a migration step there.

Money is stored as integer minor units (cents, bani, kopecks) next to its ISO currency
code, so no price ever passes through a float.
"""

from __future__ import annotations

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
