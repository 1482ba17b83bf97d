"""The worker process: MQTT session, dispatcher, render pool and scheduler, one per database.

Composition only; each part holds its own idea. `Worker.start()` brings them up in an
order that loses nothing: the outbox is recovered before the first publish, and the
MQTT subscriptions exist before the dispatcher waits for acks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db, worker_lease
from esl_controller.ads.checkpoints import take_checkpoint
from esl_controller.ads.delivery import run_due_deliveries
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.ads.retention import roll_up_impressions
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.erp.runner import SyncRunner, labels_of_products
from esl_controller.esl.dispatcher import Dispatcher
from esl_controller.esl.outbox import Priority
from esl_controller.esl.registry import DriverContext
from esl_controller.esl.station_links import StationLinks
from esl_controller.labels.refresh import Progress, RefreshReport, refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Label, Product, Promotion
from esl_controller.mqtt import MqttClient
from esl_controller.scheduler import build_scheduler
from esl_controller.signage.channel_registry import ChannelContext, open_channels
from esl_controller.signage.service import SignageService

log = logging.getLogger(__name__)

WATERMARK_KEY = "refresh_watermark"
PROMOTION_CHECK_KEY = "promotions_checked_until"


class Worker:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or db.make_engine(settings.resolved_database_url)
        self.holder = worker_lease.holder_name()
        self.mqtt: MqttClient | None = None
        self.dispatcher: Dispatcher | None = None
        self.stations: StationLinks | None = None
        self.signage: SignageService | None = None
        self.pool: RenderPool | None = None
        self._scheduler = None
        # Re-entrant: a sync holds it for the sync and its label refresh, so the periodic
        # refresh cannot render those labels in between and the run counts them.
        self._refresh_lock = threading.RLock()
        self.sync: SyncRunner | None = None

    def start(self, wait_for_broker: float = 30.0) -> Worker:
        db.init_db(self.engine)
        worker_lease.acquire(self.engine, self.holder)
        self.pool = RenderPool(self.settings.render_workers, self.settings.templates_dir)
        self.pool.__enter__()
        self.mqtt = MqttClient(
            self.settings.mqtt_url,
            client_id=f"esl-controller-{self.settings.store_id}",
        )
        self.dispatcher = Dispatcher(self.engine, self.settings)
        self.stations = StationLinks(
            self.engine, DriverContext(self.settings, mqtt=self.mqtt), self.dispatcher
        )
        self.dispatcher.start()
        self.stations.reconcile()
        channels = open_channels(
            self.settings.player_channels,
            ChannelContext(self.settings, mqtt=self.mqtt, engine=self.engine),
        )
        self.signage = SignageService(
            self.engine,
            self.settings,
            channels,
            ingestor=PlayIngestor(self.engine, self.settings),
        ).start()
        self.mqtt.start(wait=wait_for_broker)
        self.sync = SyncRunner(self.engine, self.settings, self._refresh_for_sync)
        self._scheduler = build_scheduler(
            {
                "refresh_changed_labels": (self.refresh_changed, 2.0),
                "renew_worker_lease": (self._renew_lease, 10.0),
                "station_links": (self.stations.reconcile, 5.0),
                "requested_syncs": (self._holding_refresh(self.sync.run_requested), 2.0),
                "report_deliveries": (self._deliver_reports, 60.0),
                "impression_retention": (self._roll_up_impressions, 3600.0),
                "impression_checkpoints": (
                    self._checkpoint_impressions,
                    self.settings.checkpoint_interval_s,
                ),
            }
        )
        if self.settings.erp_url:
            self._scheduler.add_job(
                self._holding_refresh(self.sync.run), sync_trigger(self.settings), id="erp_sync"
            )
        # Promotions start and end on the minute, ERP reachable or not.
        self._scheduler.add_job(self.flip_promotions, CronTrigger(second=0), id="promotions")
        self._scheduler.start()
        # Once at start, in the background: labels a previous run could not render, and a
        # sync a crash interrupted.
        self._scheduler.add_job(self.refresh_changed, kwargs={"retry_errors": True})
        if self.settings.erp_url:
            self._scheduler.add_job(self._holding_refresh(self.sync.resume))
        log.info("worker started for store %s", self.settings.store_id)
        return self

    def stop(self) -> None:
        if self._scheduler:
            self._scheduler.shutdown(wait=False)
        if self.stations:
            self.stations.stop()
        if self.dispatcher:
            self.dispatcher.stop()
        if self.signage:
            self.signage.stop()
        if self.mqtt:
            self.mqtt.stop()
        if self.pool:
            self.pool.__exit__(None, None, None)
        worker_lease.release(self.engine, self.holder)

    def refresh_all(
        self, priority: int = Priority.ROUTINE, progress: Progress | None = None
    ) -> RefreshReport:
        assert self.pool is not None, "start() the worker first"
        with self._refresh_lock:
            return refresh_labels(
                self.engine,
                self.pool,
                priority=priority,
                progress=progress,
                delisted_template=self.settings.delisted_template,
            )

    def refresh_changed(self, retry_errors: bool = False) -> RefreshReport:
        """Labels whose product changed since the last run, or that were never rendered.

        A label that could not be rendered (its incident says why) is retried when its
        product changes, and once at every worker start (`retry_errors`), not every tick.
        """
        assert self.pool is not None, "start() the worker first"
        # Never rendered, or marked for a fresh render (a label just linked to a product).
        never_rendered = or_(Label.content_hash.is_(None), Label.render_fingerprint.is_(None))
        if not retry_errors:
            never_rendered = and_(never_rendered, Label.last_error.is_(None))
        with self._refresh_lock:
            scan_started = utcnow()
            with Session(self.engine) as session:
                since = _watermark(session)
                ids = list(
                    session.scalars(
                        select(Label.id)
                        .join(Product, Product.id == Label.product_id)
                        .where(or_(Product.updated_at > since, never_rendered))
                    )
                )
            report = refresh_labels(
                self.engine,
                self.pool,
                label_ids=ids,
                priority=Priority.PRICE_CHANGE,
                delisted_template=self.settings.delisted_template,
            )
            _set_watermark(self.engine, scan_started)
            if ids:
                log.info("refreshed %d changed labels, queued %d", len(ids), report.queued)
            return report

    def flip_promotions(self, now: datetime | None = None) -> RefreshReport:
        """Re-render the labels of products whose promotion started or ended since the last
        check, so a promotion flips at its minute even when the ERP is unreachable then."""
        now = now or utcnow()
        with Session(self.engine) as session:
            since = _meta_time(session, PROMOTION_CHECK_KEY) or now
            product_ids = set(
                session.scalars(
                    select(Promotion.product_id).where(
                        or_(
                            and_(Promotion.starts_at > since, Promotion.starts_at <= now),
                            and_(Promotion.ends_at > since, Promotion.ends_at <= now),
                        )
                    )
                )
            )
        report = self._refresh_for_sync(labels_of_products(self.engine, product_ids))
        _set_meta_time(self.engine, PROMOTION_CHECK_KEY, now)
        if product_ids:
            log.info("promotions flipped for %d products", len(product_ids))
        return report

    def _refresh_for_sync(self, label_ids: list[str]) -> RefreshReport:
        assert self.pool is not None, "start() the worker first"
        if not label_ids:
            return RefreshReport()
        with self._refresh_lock:
            return refresh_labels(
                self.engine,
                self.pool,
                label_ids=label_ids,
                priority=Priority.PRICE_CHANGE,
                delisted_template=self.settings.delisted_template,
            )

    def _holding_refresh(self, job: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with self._refresh_lock:
                return job()

        return run

    def _deliver_reports(self) -> None:
        run = run_due_deliveries(self.engine, self.settings, utcnow())
        if run.created or run.sent or run.failed:
            log.info("report deliveries: %s", run)

    def _roll_up_impressions(self) -> None:
        roll_up_impressions(self.engine, self.settings, utcnow())

    def _checkpoint_impressions(self) -> None:
        take_checkpoint(self.engine, self.settings, utcnow())

    def _renew_lease(self) -> None:
        worker_lease.acquire(self.engine, self.holder)


def sync_trigger(settings: Settings) -> BaseTrigger:
    """ESL_SYNC_CRON (crontab syntax, store time is UTC here) or every ESL_SYNC_INTERVAL s."""
    if settings.sync_cron:
        return CronTrigger.from_crontab(settings.sync_cron, timezone="UTC")
    return IntervalTrigger(seconds=settings.sync_interval_s)


def _watermark(session: Session) -> datetime:
    return _meta_time(session, WATERMARK_KEY) or datetime(1970, 1, 1, tzinfo=UTC)


def _set_watermark(engine: Engine, value: datetime) -> None:
    _set_meta_time(engine, WATERMARK_KEY, value)


def _meta_time(session: Session, key: str) -> datetime | None:
    row = session.execute(text("SELECT value FROM schema_meta WHERE key = :k"), {"k": key}).first()
    return datetime.fromisoformat(row[0]) if row else None


def _set_meta_time(engine: Engine, key: str, value: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_meta WHERE key = :k"), {"k": key})
        conn.execute(
            text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"),
            {"k": key, "v": value.isoformat()},
        )
