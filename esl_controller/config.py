"""Settings from the environment (ESL_*), read once into one typed, immutable object.

Every knob an operator may turn lives here with its default, so `docs/operations.md`
can list them and nothing else reads `os.environ`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from esl_controller.catalogue.prior_price import FakeDiscount

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A session cookie is only as strong as the key that signs it: 32 characters of
# `secrets.token_hex` carry 128 bits. Placeholder words catch a copied example file.
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 10
PLACEHOLDER_MARKERS = (
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "replace_me",
    "placeholder",
    "example",
    "random-characters",
    "your-secret",
    "secret-key",
)
GENERATE_SECRET_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class SettingsError(ValueError):
    """An environment variable that cannot be read as its setting; the message names it."""


class InsecureSettings(ValueError):
    """A setting that must not reach production as it is; the message says how to fix it."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_names(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of names; unset or blank: the default."""
    names = tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())
    return names or default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _env_fake_discount() -> FakeDiscount:
    value = _env("ESL_FAKE_DISCOUNT", FakeDiscount.PLAIN.value).strip().lower()
    try:
        return FakeDiscount(value)
    except ValueError:
        choices = ", ".join(choice.value for choice in FakeDiscount)
        raise SettingsError(f"ESL_FAKE_DISCOUNT must be one of {choices}, got {value!r}") from None


def _env_feed_scope() -> str:
    # the names erp.feed_scope.FeedScope knows; checked here so a typo stops the start
    value = _env("ESL_ERP_FEED_SCOPE", "store").strip().lower()
    if value not in ("store", "chain"):
        raise SettingsError(
            f"ESL_ERP_FEED_SCOPE must be store (the feed is this store's alone) or chain (one "
            f"feed for every store, each record naming its store), got {value!r}"
        )
    return value


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one controller. Build with `Settings.from_env()`."""

    data_dir: Path = field(default_factory=lambda: Path("var"))
    database_url: str = ""  # empty: a SQLite file in data_dir
    mqtt_url: str = ""  # empty: start the embedded broker (demo) / mqtt://127.0.0.1:1883
    local_broker: str = ""  # the demo's broker: "" (Mosquitto if installed), mosquitto, rumqttd
    topic_prefix: str = "esl"
    store_id: str = "store-1"
    secret_key: str = ""
    templates_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "label_templates")
    playlists_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "signage_playlists")
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # Reverse proxies in front of the web (nginx, a load balancer) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. 0 believes none: a client could forge its address, and
    # behind a proxy every client would share the proxy's for the login throttle.
    trusted_proxies: int = 0
    # Delivery: how many images each base station may hold queued at once. Two keeps the radio
    # busy (one on air, one waiting) while letting a high-priority image overtake the backlog.
    station_window: int = 2
    ack_timeout_s: float = 60.0
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    max_attempts: int = 5
    # A command that waited this long for its confirmation stops holding its station's
    # window (it still waits up to the ack timeout): one silent label must not stall a
    # station for a whole timeout per attempt.
    slot_timeout_s: float = 15.0
    # A station that sent no status for this long is offline even if its last will (or a
    # retained "online" from before a broker restart) says otherwise.
    station_liveness_s: float = 95.0
    render_workers: int = 0  # 0: one per CPU core
    # Connections one process keeps to a PostgreSQL, and how many more it may open at a peak:
    # a chain's database serves every store's worker, so each process's share is bounded.
    db_pool_size: int = 5
    db_pool_overflow: int = 5
    outbox_poll_s: float = 0.2
    # Delivered, replaced and failed outbox rows older than this are deleted (each label's
    # newest row stays); 0 keeps them all.
    outbox_retention_days: int = 30
    # ERP sync
    erp_feed: str = "json"  # json | csv | odoo
    erp_url: str = ""  # base URL of the JSON feed or Odoo; for csv a file path or URL
    # "store": the feed is this store's alone; "chain": head office's one feed for every
    # store, each record naming its store (docs/erp.md, "One feed for a chain")
    erp_feed_scope: str = "store"
    erp_token: str = ""  # bearer token / Odoo API key (secret: from the environment only)
    erp_database: str = ""  # Odoo database name, when the server hosts several
    sync_interval_s: float = 300.0
    sync_cron: str = ""  # e.g. "*/10 6-22 * * *"; overrides the interval when set
    erp_page_size: int = 500
    erp_timeout_s: float = 15.0
    erp_overlap_s: float = 120.0  # re-read this much before the watermark (clock skew)
    erp_retry_after_max_s: float = 60.0  # a longer Retry-After is waited this long, not more
    erp_csv_encoding: str = "utf-8"  # utf-8, windows-1250, iso-8859-2, ... (a BOM wins)
    erp_csv_decimal: str = "."  # "." or "," in the CSV's price and quantity cells
    # Odoo: whose prices and stock this store shows (ids of Odoo records; 0 = not set)
    odoo_pricelist: int = 0  # the store's pricelist; 0: the variants' sales price
    odoo_company: int = 0  # allowed_company_ids on every call
    odoo_warehouse: int = 0  # stock of this warehouse ...
    odoo_location: int = 0  # ... or of this stock location (wins over the warehouse)
    odoo_prices_include_tax: bool = True  # shelf prices with the sale taxes (VAT) added
    # A full sync that would delist more than this share of active products is refused
    # (an empty or truncated feed must not blank the store).
    delist_safety_ratio: float = 0.2
    delisted_template: str = "not_for_sale"
    # A promotion not below the 30-day prior price: "plain" (charged, shown as a plain
    # price) or "refuse" (not applied; an incident names it)
    fake_discount: FakeDiscount = FakeDiscount.PLAIN
    # Signage and triggers
    media_base_url: str = ""  # where players fetch media; empty: http://{web_host}:{web_port}
    trigger_retention_s: float = 24 * 3600.0  # raw trigger events; aggregates stay
    trigger_rate_per_s: float = 20.0  # per sensor, sustained
    trigger_burst: int = 40  # per sensor, short bursts
    trigger_max_age_s: float = 300.0  # older triggers are refused as stale
    trigger_max_skew_s: float = 30.0  # triggers from further in the future are refused
    override_ttl_s: float = 30.0  # default lifetime of a targeted override
    # Screen drivers the worker opens, by entry-point name (esl_controller.player_channels).
    player_channels: tuple[str, ...] = ("mqtt",)
    # Proof of play and reports
    play_retention_days: int = 90  # raw plays/impressions; older ones roll up hourly
    pop_max_skew_s: float = 120.0  # a play may end this far in the future (player clocks)
    smtp_url: str = ""  # smtp://user:pass@host:587?starttls=1 ; empty: no e-mail delivery
    report_from: str = "reports@esl-controller.invalid"
    webhook_timeout_s: float = 10.0
    webhook_retry_base_s: float = 30.0
    webhook_give_up_s: float = 6 * 3600.0  # then the delivery is failed with its reason
    # Ed25519 key signing impression-chain checkpoints: base64 of the 32-byte private key;
    # empty: a key file in data_dir, generated on first use (see ads.checkpoints)
    chain_signing_key: str = ""
    checkpoint_interval_s: float = 3600.0

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("ESL_DATA_DIR", "var"))
        return cls(
            data_dir=data_dir,
            database_url=_env("ESL_DATABASE_URL", ""),
            mqtt_url=_env("ESL_MQTT_URL", ""),
            local_broker=_env("ESL_LOCAL_BROKER", ""),
            topic_prefix=_env("ESL_TOPIC_PREFIX", "esl"),
            store_id=_env("ESL_STORE_ID", "store-1"),
            secret_key=_env("ESL_SECRET_KEY", ""),
            templates_dir=Path(_env("ESL_TEMPLATES_DIR", str(PROJECT_ROOT / "label_templates"))),
            playlists_dir=Path(_env("ESL_PLAYLISTS_DIR", str(PROJECT_ROOT / "signage_playlists"))),
            web_host=_env("ESL_WEB_HOST", "127.0.0.1"),
            web_port=_env_int("ESL_WEB_PORT", 8080),
            trusted_proxies=_env_int("ESL_TRUSTED_PROXIES", 0),
            station_window=_env_int("ESL_STATION_WINDOW", 2),
            ack_timeout_s=_env_float("ESL_ACK_TIMEOUT", 60.0),
            retry_base_s=_env_float("ESL_RETRY_BASE", 5.0),
            retry_max_s=_env_float("ESL_RETRY_MAX", 300.0),
            max_attempts=_env_int("ESL_MAX_ATTEMPTS", 5),
            slot_timeout_s=_env_float("ESL_SLOT_TIMEOUT", 15.0),
            station_liveness_s=_env_float("ESL_STATION_LIVENESS", 95.0),
            render_workers=_env_int("ESL_RENDER_WORKERS", 0),
            db_pool_size=_env_int("ESL_DB_POOL_SIZE", 5),
            db_pool_overflow=_env_int("ESL_DB_POOL_OVERFLOW", 5),
            outbox_poll_s=_env_float("ESL_OUTBOX_POLL", 0.2),
            outbox_retention_days=_env_int("ESL_OUTBOX_RETENTION_DAYS", 30),
            erp_feed=_env("ESL_ERP_FEED", "json"),
            erp_url=_env("ESL_ERP_URL", ""),
            erp_feed_scope=_env_feed_scope(),
            erp_token=_env("ESL_ERP_TOKEN", ""),
            erp_database=_env("ESL_ERP_DATABASE", ""),
            sync_interval_s=_env_float("ESL_SYNC_INTERVAL", 300.0),
            sync_cron=_env("ESL_SYNC_CRON", ""),
            erp_page_size=_env_int("ESL_ERP_PAGE_SIZE", 500),
            erp_timeout_s=_env_float("ESL_ERP_TIMEOUT", 15.0),
            erp_overlap_s=_env_float("ESL_ERP_OVERLAP", 120.0),
            erp_retry_after_max_s=_env_float("ESL_ERP_RETRY_AFTER_MAX", 60.0),
            erp_csv_encoding=_env("ESL_ERP_CSV_ENCODING", "utf-8"),
            erp_csv_decimal=_env("ESL_ERP_CSV_DECIMAL", "."),
            odoo_pricelist=_env_int("ESL_ODOO_PRICELIST", 0),
            odoo_company=_env_int("ESL_ODOO_COMPANY", 0),
            odoo_warehouse=_env_int("ESL_ODOO_WAREHOUSE", 0),
            odoo_location=_env_int("ESL_ODOO_LOCATION", 0),
            odoo_prices_include_tax=_env_flag("ESL_ODOO_PRICES_INCLUDE_TAX", True),
            delist_safety_ratio=_env_float("ESL_DELIST_SAFETY_RATIO", 0.2),
            delisted_template=_env("ESL_DELISTED_TEMPLATE", "not_for_sale"),
            fake_discount=_env_fake_discount(),
            media_base_url=_env("ESL_MEDIA_BASE_URL", ""),
            trigger_retention_s=_env_float("ESL_TRIGGER_RETENTION", 24 * 3600.0),
            trigger_rate_per_s=_env_float("ESL_TRIGGER_RATE", 20.0),
            trigger_burst=_env_int("ESL_TRIGGER_BURST", 40),
            trigger_max_age_s=_env_float("ESL_TRIGGER_MAX_AGE", 300.0),
            trigger_max_skew_s=_env_float("ESL_TRIGGER_MAX_SKEW", 30.0),
            override_ttl_s=_env_float("ESL_OVERRIDE_TTL", 30.0),
            player_channels=_env_names("ESL_PLAYER_CHANNELS", ("mqtt",)),
            play_retention_days=_env_int("ESL_PLAY_RETENTION_DAYS", 90),
            pop_max_skew_s=_env_float("ESL_POP_MAX_SKEW", 120.0),
            smtp_url=_env("ESL_SMTP_URL", ""),
            report_from=_env("ESL_REPORT_FROM", "reports@esl-controller.invalid"),
            webhook_timeout_s=_env_float("ESL_WEBHOOK_TIMEOUT", 10.0),
            webhook_retry_base_s=_env_float("ESL_WEBHOOK_RETRY_BASE", 30.0),
            webhook_give_up_s=_env_float("ESL_WEBHOOK_GIVE_UP", 6 * 3600.0),
            chain_signing_key=_env("ESL_CHAIN_SIGNING_KEY", ""),
            checkpoint_interval_s=_env_float("ESL_CHECKPOINT_INTERVAL", 3600.0),
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'esl.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def resolved_media_base_url(self) -> str:
        return self.media_base_url or f"http://{self.web_host}:{self.web_port}"

    @property
    def label_images_dir(self) -> Path:
        return self.data_dir / "label_images"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def require_secure_secret_key(self) -> None:
        """Raise InsecureSettings when ESL_SECRET_KEY is a placeholder or too weak.

        Empty is allowed: the web process then generates a random key once into data_dir.
        The demo never calls this; `web` and `worker` do before they start.
        """
        problem = secret_key_problem(self.secret_key)
        if problem:
            raise InsecureSettings(
                f"ESL_SECRET_KEY {problem}; anyone who knows it can forge a login. "
                f"Generate one with {GENERATE_SECRET_HINT} and put it in the environment "
                "file (or leave ESL_SECRET_KEY unset to have one generated into ESL_DATA_DIR)"
            )


def secret_key_problem(key: str) -> str | None:
    """Why `key` is unfit to sign sessions, or None. Never quotes the key itself."""
    if key == "":
        return None
    lowered = key.lower()
    for marker in PLACEHOLDER_MARKERS:
        if marker in lowered:
            return f"is a placeholder (it contains {marker!r})"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is {len(key)} characters long; at least {MIN_SECRET_KEY_LENGTH} are needed"
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        return f"uses only {len(set(key))} distinct characters; it is not random"
    return None
