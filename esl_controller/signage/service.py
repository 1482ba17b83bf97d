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
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor, take_chain_lock
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.incidents import record_incident
from esl_controller.models import Player
from esl_controller.signage.channel import PlayerChannel, PlaysReported
from esl_controller.signage.channel_router import ChannelRouter
from esl_controller.signage.intake import Arrivals, Intake
from esl_controller.signage.overrides import OverrideBook
from esl_controller.signage.playlist_publisher import PlaylistPublisher
from esl_controller.signage.presence import Roster
from esl_controller.signage.retention import roll_up_triggers
from esl_controller.signage.row_poll import Cadence
from esl_controller.signage.slide_store import SlideStore
from esl_controller.signage.trigger_pipeline import TriggerPipeline

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


class SignageService:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Sequence[PlayerChannel],
        *,
        clock: Callable[[], datetime] = utcnow,
        campaign_refresh_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.campaign_refresh_s = campaign_refresh_s
        self.stats: Counter[str] = Counter()
        self.ingestor = PlayIngestor(engine, settings, clock=clock)
        self.channels = ChannelRouter(channels)
        self.intake = Intake(clock)
        self.roster = Roster()
        self.overrides = OverrideBook(self.channels, self.roster)
        self.slides = SlideStore(settings)
        self.triggers = TriggerPipeline(engine, settings, self.slides, self.stats, clock)
        self.playlists = PlaylistPublisher(settings, self.channels.send_playlist, self.slides)
        self._retention = Cadence(RETENTION_EVERY_S)
        self._retention_backlog = False
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
                take_chain_lock(session)  # first statement: one writer extends the chain
            sent += self._apply_reports(session, arrivals, now)
            self.triggers.book_refusals(session, now)
            sent += self.overrides.publish_manual(session, now)
            sent += self.overrides.expire(session, now)
            self.roster.refresh(session, now)
            sent += self.playlists.tick(session, now)
            if self._retention.due(now) or self._retention_backlog:
                self._roll_up(session, now)
        for batch in arrivals.plays:  # committed: the channel may let go of them now
            if batch.on_committed is not None:
                batch.on_committed()
        self.stats["published"] += sent
        return sent

    def _apply_reports(self, session: Session, arrivals: Arrivals, now: datetime) -> int:
        sent = 0
        for report in arrivals.presence:
            self.channels.seen_on(report.player, report.channel)
            zone = self.roster.apply(session, report, now)
            if zone is not None:
                sent += self.overrides.came_online(report.player, zone, now)
        for batch in arrivals.plays:
            self._apply_plays(session, batch, now)
        for malformed in arrivals.malformed:
            self.stats[malformed.kind] += 1
            record_incident(session, malformed.kind, malformed.subject, malformed.error)
        return sent

    def _apply_plays(self, session: Session, batch: PlaysReported, now: datetime) -> None:
        if not batch.plays:
            return
        row = session.get(Player, batch.player)
        if row is not None:
            row.last_pop_at = now
            session.add(row)
        self.stats["plays"] += len(batch.plays)
        # The channel authenticated the player (its topic, its credential): plays it reports
        # for another player are refused by the ingest's rules.
        result = self.ingestor.ingest_in(session, batch.plays, batch.channel, reporter=batch.player)
        self.stats["plays_accepted"] += result.accepted
        self.stats["plays_duplicate"] += result.duplicates
        self.stats["plays_rejected"] += len(result.rejected)

    def _roll_up(self, session: Session, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.settings.trigger_retention_s)
        rolled = roll_up_triggers(session, cutoff)
        self.stats["rolled_up"] += rolled
        # More to do: continue next step, one chunk at a time, so triggers never wait long.
        self._retention_backlog = rolled > 0
