"""The worker process: MQTT session, dispatcher, render pool and scheduler, one per store.

Composition only; each part holds its own idea. `Worker.start()` brings them up in an
order that loses nothing: the outbox is recovered before the first publish, and the
MQTT subscriptions exist before the dispatcher waits for acks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from esl_controller import db, stores, worker_lease
from esl_controller.ads.checkpoints import take_checkpoint
from esl_controller.ads.delivery import run_due_deliveries
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.ads.retention import roll_up_impressions
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.erp.runner import SyncRunner
from esl_controller.esl.dispatcher import Dispatcher
from esl_controller.esl.outbox import Priority
from esl_controller.esl.outbox_retention import prune_outbox
from esl_controller.esl.refresh import Progress, RefreshReport
from esl_controller.esl.registry import DriverContext
from esl_controller.esl.shelf_refresher import ShelfRefresher
from esl_controller.esl.station_links import StationLinks
from esl_controller.labels.render_pool import RenderPool
from esl_controller.mqtt import MqttClient
from esl_controller.scheduler import build_scheduler
from esl_controller.signage.channel_registry import ChannelContext, open_channels
from esl_controller.signage.service import SignageService

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        on_lease_lost: Callable[[str], None] | None = None,
    ) -> None:
        """`on_lease_lost(why)`: called when another worker has taken this store's lease (this
        one was presumed dead, e.g. paused past the lease); the command stops the process
        then, so two workers never serve one store. Without it the loss is only logged."""
        self.settings = settings
        self.on_lease_lost = on_lease_lost
        self.engine = engine or db.make_engine(
            settings.resolved_database_url, settings.db_pool_size, settings.db_pool_overflow
        )
        self.holder = worker_lease.holder_name()
        self.mqtt: MqttClient | None = None
        self.dispatcher: Dispatcher | None = None
        self.stations: StationLinks | None = None
        self.signage: SignageService | None = None
        self.pool: RenderPool | None = None
        self.shelf: ShelfRefresher | None = None
        self._scheduler = None
        self.sync: SyncRunner | None = None

    def start(self, wait_for_broker: float = 30.0) -> Worker:
        """Raises stores.UnknownStore for a store the database does not have (a database
        with no store at all is a single store being installed: it gets its row) and
        worker_lease.WorkerAlreadyRunning when another worker runs this store."""
        db.init_db(self.engine)
        with db.session_scope(self.engine) as session:
            store = self.settings.store_id
            stores.bootstrap_store(session, store)
            self.settings = stores.effective_settings(session, self.settings, store)
        worker_lease.acquire(self.engine, self.store_id, self.holder)
        self.pool = RenderPool(self.settings.render_workers, self.settings.templates_dir)
        self.pool.__enter__()
        self.shelf = ShelfRefresher(
            self.engine,
            self.pool,
            self.settings.delisted_template,
            self.settings.fake_discount,
            store_id=self.store_id,
        )
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
            ingestor=PlayIngestor(self.engine, self.settings, only_store=self.store_id),
        ).start()
        self.mqtt.start(wait=wait_for_broker)
        self.sync = SyncRunner(self.engine, self.settings, self._refresh_products)
        self._scheduler = build_scheduler(
            {
                "refresh_changed_labels": (self.refresh_changed, 2.0),
                "renew_worker_lease": (self._renew_lease, 10.0),
                # the web's hand-overs (row_poll): each read at its own cadence
                "station_links": (self.stations.reconcile, self.stations.handover.every_s),
                "requested_syncs": (
                    self._holding_refresh(self.sync.run_requested),
                    self.sync.handover.every_s,
                ),
                "report_deliveries": (self._deliver_reports, 60.0),
                "impression_retention": (self._roll_up_impressions, 3600.0),
                "outbox_retention": (self._prune_outbox, 3600.0),
                "impression_checkpoints": (
                    self._checkpoint_impressions,
                    self.settings.checkpoint_interval_s,
                ),
            },
            # The database away: each job says so once and catches up when it returns.
            passing_failure=db.is_database_unavailable,
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
        worker_lease.release(self.engine, self.store_id, self.holder)

    # Every way a label gets a new image goes through the shelf refresher.

    def refresh_all(
        self, priority: int = Priority.ROUTINE, progress: Progress | None = None
    ) -> RefreshReport:
        return self._shelf().refresh(
            partial(ShelfRefresher.everything, priority=priority), progress
        )

    def refresh_changed(self, retry_errors: bool = False) -> RefreshReport:
        """Labels whose product changed since the last scan, or that were never rendered."""
        shelf = self._shelf()
        return shelf.refresh(partial(shelf.catalogue_changes, retry_errors=retry_errors))

    def flip_promotions(self, now: datetime | None = None) -> RefreshReport:
        """A promotion flips at its minute even when the ERP is unreachable then."""
        shelf = self._shelf()
        return shelf.refresh(partial(shelf.promotion_flips, now))

    def _refresh_products(self, product_ids: set[int]) -> RefreshReport:
        shelf = self._shelf()
        return shelf.refresh(partial(shelf.products, product_ids))

    def _shelf(self) -> ShelfRefresher:
        assert self.shelf is not None, "start() the worker first"
        return self.shelf

    def _holding_refresh(self, job: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with self._shelf().held():
                return job()

        return run

    def _deliver_reports(self) -> None:
        if not worker_lease.runs_chain_jobs(self.engine, self.holder):
            return
        run = run_due_deliveries(self.engine, self.settings, utcnow())
        if run.created or run.sent or run.failed:
            log.info("report deliveries: %s", run)

    def _roll_up_impressions(self) -> None:
        if worker_lease.runs_chain_jobs(self.engine, self.holder):
            roll_up_impressions(self.engine, self.settings, utcnow())

    def _prune_outbox(self) -> None:
        deleted = prune_outbox(
            self.engine, self.store_id, utcnow(), self.settings.outbox_retention_days
        )
        if deleted:
            log.info(
                "store %s: %d delivered outbox rows past retention deleted", self.store_id, deleted
            )

    def _checkpoint_impressions(self) -> None:
        if worker_lease.runs_chain_jobs(self.engine, self.holder):
            take_checkpoint(self.engine, self.settings, utcnow())

    def _renew_lease(self) -> None:
        try:
            worker_lease.acquire(self.engine, self.store_id, self.holder)
        except worker_lease.WorkerAlreadyRunning as lost:
            log.error("store %s: this worker lost its lease: %s", self.store_id, lost)
            if self.on_lease_lost is not None:
                self.on_lease_lost(str(lost))

    @property
    def store_id(self) -> str:
        return self.settings.store_id


def sync_trigger(settings: Settings) -> BaseTrigger:
    """ESL_SYNC_CRON (crontab syntax, store time is UTC here) or every ESL_SYNC_INTERVAL s."""
    if settings.sync_cron:
        return CronTrigger.from_crontab(settings.sync_cron, timezone="UTC")
    return IntervalTrigger(seconds=settings.sync_interval_s)
