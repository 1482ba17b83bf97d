"""The worker process: MQTT session, dispatcher, render pool and scheduler, one per database.

Composition only; each part holds its own idea. `Worker.start()` brings them up in an
order that loses nothing: the outbox is recovered before the first publish, and the
MQTT subscriptions exist before the dispatcher waits for acks.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db, worker_lease
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl import protocol
from esl_controller.esl.dispatcher import Dispatcher
from esl_controller.esl.outbox import Priority
from esl_controller.labels.refresh import Progress, RefreshReport, refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Label, Product
from esl_controller.mqtt import MqttClient
from esl_controller.scheduler import build_scheduler

log = logging.getLogger(__name__)

WATERMARK_KEY = "refresh_watermark"


class Worker:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or db.make_engine(settings.resolved_database_url)
        self.holder = worker_lease.holder_name()
        self.mqtt: MqttClient | None = None
        self.dispatcher: Dispatcher | None = None
        self.pool: RenderPool | None = None
        self._scheduler = None
        self._refresh_lock = threading.Lock()

    def start(self, wait_for_broker: float = 30.0) -> Worker:
        db.init_db(self.engine)
        worker_lease.acquire(self.engine, self.holder)
        self.pool = RenderPool(self.settings.render_workers, self.settings.templates_dir)
        self.pool.__enter__()
        self.mqtt = MqttClient(
            self.settings.mqtt_url,
            client_id=f"esl-controller-{self.settings.store_id}",
        )
        self.dispatcher = Dispatcher(self.engine, self.settings, self.mqtt.publish)
        self.mqtt.on_connected = self.dispatcher.on_reconnected
        for topic_filter in protocol.controller_subscriptions(
            self.settings.topic_prefix, self.settings.store_id
        ):
            self.mqtt.subscribe(topic_filter, self.dispatcher.on_station_message)
        self.dispatcher.start()
        self.mqtt.start(wait=wait_for_broker)
        self._scheduler = build_scheduler(
            {
                "refresh_changed_labels": (self.refresh_changed, 2.0),
                "renew_worker_lease": (self._renew_lease, 10.0),
            }
        )
        self._scheduler.start()
        # Once at start, in the background: labels a previous run could not render.
        self._scheduler.add_job(self.refresh_changed, kwargs={"retry_errors": True})
        log.info("worker started for store %s", self.settings.store_id)
        return self

    def stop(self) -> None:
        if self._scheduler:
            self._scheduler.shutdown(wait=False)
        if self.dispatcher:
            self.dispatcher.stop()
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
        never_rendered = Label.content_hash.is_(None)
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

    def _renew_lease(self) -> None:
        worker_lease.acquire(self.engine, self.holder)


def _watermark(session: Session) -> datetime:
    row = session.execute(
        text("SELECT value FROM schema_meta WHERE key = :k"), {"k": WATERMARK_KEY}
    ).first()
    return datetime.fromisoformat(row[0]) if row else datetime(1970, 1, 1, tzinfo=UTC)


def _set_watermark(engine: Engine, value: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_meta WHERE key = :k"), {"k": WATERMARK_KEY})
        conn.execute(
            text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"),
            {"k": WATERMARK_KEY, "v": value.isoformat()},
        )
