"""The worker's signage service: the loop that owns the threads and wires the parts.

Same shape as the ESL dispatcher: channels (screen drivers) report from their own threads
into the intake's queue; one thread, this service's, does every database write. Each turn:
triggers first (trigger_pipeline: decided and delivered before anything else is written),
then presence and proof of play, manual overrides the web wrote, expiries (overrides),
playlists, and retention. Campaigns are reloaded by a second thread every few seconds, so
a trigger never waits for that query.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.signage.channel import PlayerChannel
from esl_controller.signage.channel_router import ChannelRouter
from esl_controller.signage.intake import Intake, ReportRouting
from esl_controller.signage.overrides import OverrideBook
from esl_controller.signage.play_store import PlayStore
from esl_controller.signage.playlist_publisher import PlaylistPublisher
from esl_controller.signage.presence import Roster
from esl_controller.signage.retention import TriggerRetention
from esl_controller.signage.slide_store import SlideStore
from esl_controller.signage.trigger_pipeline import TriggerPipeline

log = logging.getLogger(__name__)


class SignageService:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Sequence[PlayerChannel],
        *,
        ingestor: PlayStore,
        clock: Callable[[], datetime] = utcnow,
        campaign_refresh_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.campaign_refresh_s = campaign_refresh_s
        self.stats: Counter[str] = Counter()
        self.ingestor = ingestor
        self.channels = ChannelRouter(channels)
        self.intake = Intake(clock)
        self.roster = Roster(settings.store_id)
        self.overrides = OverrideBook(self.channels, self.roster)
        self.slides = SlideStore(settings)
        self.triggers = TriggerPipeline(engine, settings, self.slides, self.stats, clock)
        self.playlists = PlaylistPublisher(settings, self.channels.send_playlist, self.slides)
        self.reports = ReportRouting(
            self.channels, self.roster, self.overrides, self.ingestor, self.stats
        )
        self.retention = TriggerRetention(settings.trigger_retention_s, settings.store_id)
        self._loaded = False
        self._opened = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def open_channels(self) -> SignageService:
        """Start receiving from the channels (idempotent); `start` does it too."""
        if not self._opened:
            self.channels.open(self.intake)
            self._opened = True
        return self

    def start(self) -> SignageService:
        self.load()
        self.open_channels()
        for name, target in (("signage", self._run), ("signage-campaigns", self._run_loader)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self._opened:
            self.channels.close()
            self._opened = False

    def load(self) -> None:
        """Read what the service works from: players (all offline until their channel says
        otherwise), zones, campaigns, and the overrides still in force."""
        now = self.clock()
        with session_scope(self.engine) as session:
            self.roster.start(session)
            self.triggers.reload_campaigns(session)
            self.overrides.start(session, now)
        self._loaded = True

    def reload_campaigns(self, session: Session) -> None:
        self.triggers.reload_campaigns(session)

    def online_players(self) -> set[str]:
        """Players the service believes are online (from their presence reports)."""
        return self.roster.online()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(0.05)
            except Exception:  # the loop must survive a bad step; its transaction is rolled back
                self.stats["loop_errors"] += 1
                log.exception("signage step failed")
                self._stop.wait(1.0)

    def _run_loader(self) -> None:
        while not self._stop.wait(self.campaign_refresh_s):
            try:
                with Session(self.engine) as session:
                    self.triggers.reload_campaigns(session)
            except Exception:
                log.exception("reloading campaigns failed")

    # -- one turn of the loop (public for tests and benchmarks) -----------------------------------

    def step(self, wait: float = 0.0) -> int:
        """Apply what arrived; returns how many messages went to players."""
        if not self._loaded:
            self.load()
        self.open_channels()
        arrivals = self.intake.drain(wait)
        now = self.clock()
        sent = self.triggers.run(arrivals.triggers, self.roster, self.overrides, now)
        with session_scope(self.engine) as session:
            if arrivals.plays:
                self.ingestor.lock_chain(session)  # first statement: one writer extends the chain
            sent += self.reports.route(session, arrivals, now)
            self.triggers.book_refusals(session, now)
            sent += self.overrides.publish_manual(session, now)
            sent += self.overrides.expire(session, now)
            self.roster.refresh(session, now)
            sent += self.playlists.tick(session, now)
            self.stats["rolled_up"] += self.retention.run(session, now)
        for batch in arrivals.plays:  # committed: the channel may let go of them now
            if batch.on_committed is not None:
                batch.on_committed()
        self.stats["published"] += sent
        return sent
