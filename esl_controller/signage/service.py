"""The worker's signage service: triggers to overrides, schedules to playlists, player presence.

Same shape as the ESL dispatcher: the MQTT network thread only splits the topic and hands
the message over through a queue; one thread (this service's) does every database write.

Latency matters for triggers (a shopper is standing at the shelf), so a step handles them
first, in their own short transaction: decided, published (override ids come from a block
reserved ahead, see override_ids), and only then written with Core inserts and committed.
Campaigns are reloaded by a background thread every few seconds, so a trigger never waits
for that query.
"""

from __future__ import annotations

import heapq
import json
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor, take_chain_lock
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.incidents import record_incident
from esl_controller.models import (
    Advertiser,
    Campaign,
    Creative,
    Override,
    Player,
    Store,
    TriggerEvent,
    Zone,
)
from esl_controller.signage import protocol
from esl_controller.signage.override_ids import OverrideIdBlock
from esl_controller.signage.playlist_publisher import PlaylistPublisher
from esl_controller.signage.rate_limit import TokenBuckets
from esl_controller.signage.retention import roll_up_triggers
from esl_controller.signage.slide_store import SlideStore
from esl_controller.signage.targeting import (
    CampaignInfo,
    CreativeInfo,
    Decision,
    Pacing,
    decide,
    parse_targeting,
)
from esl_controller.signage.triggers import (
    LoyaltyTrigger,
    Refusal,
    Trigger,
    TriggerRejected,
    parse_trigger,
    recorded_reason,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bool], None]
PACING_WINDOW = timedelta(hours=1)
HTTP_TRIGGER_BATCH = 500  # triggers the web accepted, taken per poll
RATE_LIMIT_WINDOW_S = 1.0
MAX_REASON_LENGTH = 300


@dataclass(frozen=True)
class _TriggerIn:
    sensor: str
    payload: bytes
    received_at: datetime
    received_mono: float


@dataclass(frozen=True)
class _StatusIn:
    player: str
    status: protocol.PlayerStatus


@dataclass(frozen=True)
class _PopsIn:
    player: str
    plays: list[protocol.Play]
    ack: Callable[[], None] | None = None  # to the broker, once the plays are committed


@dataclass(frozen=True)
class _Malformed:
    kind: str
    subject: str
    error: str


@dataclass
class _ActiveOverride:
    """An override in force: who has it, who still waits for it (offline players)."""

    id: int
    zone: str
    expires_at: datetime
    payload: bytes
    trigger_event_id: int | None
    delivered: set[str] = field(default_factory=set)


@dataclass
class _Refusals:
    """Rate-limited triggers of one sensor, booked as one row per window."""

    first_at: datetime
    count: int = 0


@dataclass
class _PlayerState:
    zone: str
    online: bool = False


@dataclass
class _Pending:
    """One accepted trigger on its way to a decision. `event` holds the columns of its
    trigger_event row: a new row for an MQTT trigger, the web's row (with its id) for one that
    came over HTTP. `override` holds the columns of the override row, id included."""

    trigger: Trigger
    event: dict[str, Any]
    stored: TriggerEvent | None = None
    item: protocol.ScreenItem | None = None
    override: dict[str, Any] | None = None


class SignageService:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        publish: Publish,
        *,
        clock: Callable[[], datetime] = utcnow,
        campaign_refresh_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.ingestor = PlayIngestor(engine, settings, clock=clock)
        self.publish = publish
        self.clock = clock
        self.campaign_refresh_s = campaign_refresh_s
        self.stats: Counter[str] = Counter()
        self.slides = SlideStore(settings)
        self.playlists = PlaylistPublisher(settings, publish, self.slides)
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._buckets = TokenBuckets(settings.trigger_rate_per_s, settings.trigger_burst)
        self._refusals: dict[str, _Refusals] = {}
        self._pacing = Pacing()
        self._plays: deque[tuple[datetime, int, tuple[str, ...]]] = deque()
        self._campaigns: tuple[CampaignInfo, ...] = ()
        self._timezone = "UTC"
        self._players: dict[str, _PlayerState] = {}
        self._zones: frozenset[str] = frozenset()
        self._active: dict[int, _ActiveOverride] = {}
        self._expiry: list[tuple[datetime, int]] = []  # heap of (expires_at, override id)
        self._override_ids = OverrideIdBlock(engine)
        self._reported_unknown: set[str] = set()
        self._loaded = False
        self._due: dict[str, datetime] = {}
        self._retention_backlog = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- called from the MQTT network thread: split, stamp, enqueue ---------------------------

    def handle_message(
        self, topic: str, payload: bytes, ack: Callable[[], None] | None = None
    ) -> None:
        """Parse and queue. `ack` (durable subscriptions) is called once what the message
        carried is committed; for anything that is not proof of play, at once."""
        if ack is not None and "/pop" not in topic:
            ack()
        received_at, received_mono = self.clock(), time.monotonic()
        try:
            parsed = protocol.parse_topic(self.settings.topic_prefix, topic)
        except protocol.SignageProtocolError as exc:
            subject = protocol.safe_topic(self.settings.topic_prefix, topic)
            self._events.put(_Malformed("malformed_signage", subject, str(exc)))
            return
        if parsed.kind == "trigger" and parsed.sensor:
            self._events.put(_TriggerIn(parsed.sensor, payload, received_at, received_mono))
        elif parsed.kind == "status" and parsed.player:
            if not payload:  # a retained status being cleared, not a report
                return
            try:
                status = protocol.parse_player_status(payload)
            except protocol.SignageProtocolError as exc:
                self._events.put(_Malformed("malformed_status", parsed.player, str(exc)))
                return
            self._events.put(_StatusIn(parsed.player, status))
        elif parsed.kind == "pop" and parsed.player:
            try:
                self._events.put(_PopsIn(parsed.player, protocol.parse_pops(payload), ack))
            except protocol.BatchError as exc:  # the good plays of a batch still count
                self._events.put(_PopsIn(parsed.player, exc.valid, ack))
                self._events.put(_Malformed("malformed_pop", parsed.player, str(exc)))
            except protocol.SignageProtocolError as exc:
                self._events.put(_Malformed("malformed_pop", parsed.player, str(exc)))
                if ack is not None:
                    ack()  # nothing in it can ever be stored; redelivery would not help

    def on_plays(self, session: Session, plays: Sequence[protocol.Play]) -> None:
        """Store proof of play in the service's transaction (impressions, hash chain)."""
        result = self.ingestor.ingest_in(session, plays, "mqtt")
        self.stats["plays_accepted"] += result.accepted
        self.stats["plays_duplicate"] += result.duplicates
        self.stats["plays_rejected"] += len(result.rejected)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SignageService:
        self.load()
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

    def load(self) -> None:
        """Read what the service works from: players (all offline until their retained status
        says otherwise), zones, campaigns, and the overrides still in force."""
        now = self.clock()
        with session_scope(self.engine) as session:
            session.execute(update(Player).values(online=False))
            self._load_players(session)
            self.reload_campaigns(session)
            for row in session.scalars(
                select(Override).where(Override.state == "active", Override.expires_at > now)
            ).all():
                self._track(row, self._override_payload(row))
        self._loaded = True

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
                    self.reload_campaigns(session)
            except Exception:
                log.exception("reloading campaigns failed")

    # -- one turn of the loop (public for tests and benchmarks) -----------------------------------

    def step(self, wait: float = 0.0) -> int:
        """Apply what arrived; returns how many messages were published."""
        if not self._loaded:
            self.load()
        events = self._drain(wait)
        now = self.clock()
        triggers = [e for e in events if isinstance(e, _TriggerIn)]
        published = self._handle_triggers(triggers, now)
        pops = [event for event in events if isinstance(event, _PopsIn)]
        with session_scope(self.engine) as session:
            if pops:
                take_chain_lock(session)  # first statement: one writer extends the chain
            for event in events:
                if isinstance(event, _StatusIn):
                    published += self._apply_status(session, event, now)
                elif isinstance(event, _PopsIn):
                    self._apply_pops(session, event, now)
                elif isinstance(event, _Malformed):
                    self.stats[event.kind] += 1
                    record_incident(session, event.kind, event.subject, event.error)
            self._book_refusals(session, now, force=False)
            if self._is_due("manual", now, 0.5):
                published += self._publish_manual_overrides(session, now)
            published += self._expire(session, now)
            if self._is_due("players", now, 5.0):
                self._load_players(session)
            published += self.playlists.tick(session, now)
            if self._is_due("retention", now, 3600.0) or self._retention_backlog:
                self._roll_up(session, now)
        for event in pops:  # committed: the broker may forget them now
            if event.ack is not None:
                event.ack()
        self.stats["published"] += published
        return published

    def _drain(self, wait: float) -> list[object]:
        events: list[object] = []
        try:
            events.append(self._events.get(timeout=wait) if wait > 0 else self._events.get_nowait())
        except queue.Empty:
            return events
        while len(events) < 2000:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def _is_due(self, job: str, now: datetime, every_s: float) -> bool:
        due = self._due.get(job)
        if due is not None and now < due:
            return False
        self._due[job] = now + timedelta(seconds=every_s)
        return True

    # -- caches -----------------------------------------------------------------------------------

    def reload_campaigns(self, session: Session) -> None:
        """Campaigns in flight (or starting within the hour) with their live creatives."""
        now = self.clock()
        store = session.get(Store, self.settings.store_id)
        self._timezone = store.timezone if store else "UTC"
        rows = session.execute(
            select(Campaign, Advertiser.name)
            .join(Advertiser, Advertiser.id == Campaign.advertiser_id)
            .where(
                Campaign.status == "active",
                Campaign.ends_at > now,
                Campaign.starts_at <= now + PACING_WINDOW,
            )
        ).all()
        creatives: dict[int, list[CreativeInfo]] = {}
        if rows:
            for creative in session.scalars(
                select(Creative).where(
                    Creative.campaign_id.in_([c.id for c, _ in rows]),
                    Creative.archived.is_(False),
                )
            ).all():
                creatives.setdefault(creative.campaign_id, []).append(
                    CreativeInfo(
                        id=creative.id,
                        name=creative.name,
                        kind=creative.kind,
                        duration_s=creative.duration_s,
                        media_sha256=creative.media_sha256,
                        url=creative.url,
                        gtin=creative.gtin,
                    )
                )
        campaigns = []
        for campaign, advertiser in rows:
            try:
                targeting = parse_targeting(campaign.targeting)
            except ValueError as exc:
                log.warning("campaign %s skipped: %s", campaign.id, exc)
                continue
            campaigns.append(
                CampaignInfo(
                    id=campaign.id,
                    name=campaign.name,
                    advertiser=advertiser,
                    priority=campaign.priority,
                    starts_at=campaign.starts_at,
                    ends_at=campaign.ends_at,
                    targeting=targeting,
                    frequency_cap_per_hour=campaign.frequency_cap_per_hour,
                    share_of_voice=campaign.share_of_voice,
                    creatives=tuple(creatives.get(campaign.id, ())),
                )
            )
        self._campaigns = tuple(campaigns)  # one reference swap: the step thread reads it

    def _load_players(self, session: Session) -> None:
        players = {}
        for player_id, zone_id in session.execute(
            select(Player.id, Player.zone_id).where(Player.archived.is_(False))
        ).all():
            known = self._players.get(player_id)
            players[player_id] = _PlayerState(zone_id, known.online if known else False)
        self._players = players
        self._zones = frozenset(session.scalars(select(Zone.id)).all())

    def online_players(self) -> set[str]:
        """Players the service believes are online (from their status messages)."""
        return {pid for pid, state in self._players.items() if state.online}

    def _online_in_zone(self, zone: str) -> list[str]:
        return [pid for pid, state in self._players.items() if state.zone == zone and state.online]

    # -- triggers ---------------------------------------------------------------------------------

    def _handle_triggers(self, incoming: list[_TriggerIn], now: datetime) -> int:
        """Decide, publish, then write: the only statement before the publish is the insert
        that gives new trigger events their ids (the override message cites them); override
        ids come from the reserved block. Rows are written with Core, not the ORM."""
        poll_http = self._is_due("http_triggers", now, 0.25)
        if not incoming and not poll_http:
            return 0
        self._override_ids.ensure(len(incoming) + (HTTP_TRIGGER_BATCH if poll_http else 0))
        with Session(self.engine, expire_on_commit=False) as session:
            new_events: list[dict[str, Any]] = []
            accepted = [p for t in incoming if (p := self._accept(t, new_events)) is not None]
            if poll_http:
                accepted += self._http_triggers(session, now)
            for pending in accepted:
                self._decide(session, pending, now)
            _insert_trigger_events(session, new_events)
            overrides = [p for p in accepted if p.override is not None]
            published = 0
            for pending in overrides:
                pending.override["trigger_event_id"] = pending.event["id"]
                active = self._hold(self._new_override(pending))
                published += self._deliver(active, self._online_in_zone(active.zone))
            if overrides:
                session.connection().execute(
                    insert(Override.__table__), [p.override for p in overrides]
                )
            for pending in accepted:
                if pending.stored is not None:
                    _copy_outcome(pending.event, pending.stored)
                    session.add(pending.stored)
            session.commit()
        return published

    def _new_override(self, pending: _Pending) -> _ActiveOverride:
        values = pending.override
        command = protocol.OverrideCommand(
            override_id=values["id"],
            item=pending.item,
            priority=values["priority"],
            expires_at=values["expires_at"],
            trigger_id=values["trigger_event_id"],
            campaign_id=values["campaign_id"],
            creative_id=values["creative_id"],
        )
        return _ActiveOverride(
            values["id"],
            values["zone_id"],
            values["expires_at"],
            protocol.override_payload(command),
            values["trigger_event_id"],
        )

    def _accept(self, incoming: _TriggerIn, new_events: list[dict[str, Any]]) -> _Pending | None:
        """Rate limit, then the privacy guard; refusals are booked, nothing refused is kept.
        Every trigger that gets a row appends it to `new_events`."""
        self.stats["triggers"] += 1
        if not self._buckets.allow(incoming.sensor, incoming.received_mono):
            self.stats["rate_limited"] += 1
            refusals = self._refusals.setdefault(
                incoming.sensor, _Refusals(first_at=incoming.received_at)
            )
            refusals.count += 1
            return None
        try:
            trigger = parse_trigger(
                incoming.payload,
                now=incoming.received_at,
                max_age_s=self.settings.trigger_max_age_s,
                max_skew_s=self.settings.trigger_max_skew_s,
                known_zones=self._zones,
                sensor=incoming.sensor,
            )
        except TriggerRejected as rejected:
            self.stats["rejected_privacy" if rejected.privacy else "rejected"] += 1
            new_events.append(
                _event_row(
                    incoming.sensor,
                    rejected.claimed_kind,
                    incoming.received_at,
                    outcome="rejected",
                    reason=recorded_reason(rejected),
                )
            )
            return None
        event = _event_row(
            incoming.sensor,
            trigger.kind,
            incoming.received_at,
            zone_id=trigger.zone,
            occurred_at=trigger.at,
            payload=json.dumps(trigger_document(trigger), sort_keys=True),
        )
        new_events.append(event)
        return _Pending(trigger, event)

    def _http_triggers(self, session: Session, now: datetime) -> list[_Pending]:
        """Triggers the web accepted (outcome "pending"); re-validated like MQTT ones."""
        horizon = now - timedelta(seconds=self.settings.trigger_max_age_s * 2)
        rows = session.scalars(
            select(TriggerEvent)
            .where(TriggerEvent.received_at >= horizon, TriggerEvent.outcome == "pending")
            .order_by(TriggerEvent.id)
            .limit(HTTP_TRIGGER_BATCH)
        ).all()
        accepted = []
        for row in rows:
            self.stats["triggers"] += 1
            age_s = (now - row.received_at).total_seconds()
            try:
                if age_s > self.settings.trigger_max_age_s:
                    raise TriggerRejected(
                        Refusal.STALE, f"stale: waited {age_s:.0f} s for the worker"
                    )
                trigger = parse_trigger(
                    row.payload,
                    now=row.received_at,
                    max_age_s=self.settings.trigger_max_age_s,
                    max_skew_s=self.settings.trigger_max_skew_s,
                    known_zones=self._zones,
                    sensor=row.sensor_id,
                )
            except TriggerRejected as rejected:
                self.stats["rejected"] += 1
                row.outcome, row.reason, row.payload = "rejected", recorded_reason(rejected), "{}"
                session.add(row)
                continue
            accepted.append(_Pending(trigger, {"id": row.id}, stored=row))
        return accepted

    def _decide(self, session: Session, pending: _Pending, now: datetime) -> None:
        players = [pid for pid, s in self._players.items() if s.zone == pending.trigger.zone]
        self._expire_pacing(now)
        decision = decide(
            pending.trigger,
            self._campaigns,
            players,
            self._pacing,
            now,
            self._timezone,
            self.settings.override_ttl_s,
        )
        self._pacing.opportunities += 1
        event = pending.event
        if decision is None:
            event["outcome"], event["reason"] = "no_match", "no eligible campaign"
            self.stats["no_match"] += 1
            return
        item = self._decision_item(session, decision)
        if item is None:
            event["outcome"] = "no_match"
            event["reason"] = f"{decision.reason}; but no promo slide: no product with that GTIN"
            self.stats["no_match"] += 1
            return
        if decision.campaign_id is not None:
            self._pacing.wins[decision.campaign_id] = (
                self._pacing.wins.get(decision.campaign_id, 0) + 1
            )
            self._count_plays(now, decision.campaign_id, players)
        override_id = self._override_ids.take()
        event["outcome"], event["reason"] = "matched", decision.reason[:MAX_REASON_LENGTH]
        event["override_id"] = override_id
        self.stats["matched"] += 1
        pending.item = item
        pending.override = {
            "id": override_id,
            "zone_id": decision.zone,
            "player_id": None,
            "kind": decision.kind,
            "content": protocol.item_json(item),
            "priority": decision.priority,
            "created_at": now,
            "expires_at": now + timedelta(seconds=decision.ttl_s),
            "state": "active",
            "trigger_event_id": None,  # known once a new trigger event is inserted
            "campaign_id": decision.campaign_id,
            "creative_id": decision.creative.id if decision.creative else None,
            "created_by": "",
        }

    def _decision_item(self, session: Session, decision: Decision) -> protocol.ScreenItem | None:
        creative = decision.creative
        if creative is not None and creative.kind != "promo_slide":
            return protocol.ScreenItem(
                id=f"creative-{creative.id}",
                type=creative.kind,
                duration_s=creative.duration_s,
                media=creative.media_sha256,
                url=creative.url,
            )
        gtin = decision.gtin or (creative.gtin if creative else None)
        sha = self.slides.slides(session, [gtin], self.clock()).get(gtin) if gtin else None
        if sha is None:
            return None
        item_id = f"creative-{creative.id}" if creative else f"promo-{gtin}"
        duration = creative.duration_s if creative else decision.ttl_s
        return protocol.ScreenItem(item_id, "image", duration, media=sha, gtin=gtin)

    def _count_plays(self, now: datetime, campaign_id: int, players: list[str]) -> None:
        for player in players:
            key = (campaign_id, player)
            self._pacing.plays_last_hour[key] = self._pacing.plays_last_hour.get(key, 0) + 1
        self._plays.append((now, campaign_id, tuple(players)))

    def _expire_pacing(self, now: datetime) -> None:
        horizon = now - PACING_WINDOW
        plays = self._pacing.plays_last_hour
        while self._plays and self._plays[0][0] <= horizon:
            _, campaign_id, players = self._plays.popleft()
            for player in players:
                key = (campaign_id, player)
                plays[key] -= 1
                if plays[key] <= 0:
                    del plays[key]

    def _book_refusals(self, session: Session, now: datetime, force: bool) -> None:
        """One row per sensor and window for a storm, however many triggers it refused."""
        for sensor, refusals in list(self._refusals.items()):
            if not force and (now - refusals.first_at).total_seconds() < RATE_LIMIT_WINDOW_S:
                continue
            del self._refusals[sensor]
            session.add(
                TriggerEvent(
                    sensor_id=sensor,
                    kind="unknown",
                    received_at=refusals.first_at,
                    payload=json.dumps({"refused": refusals.count}),
                    outcome="rate_limited",
                    reason=(
                        f"rate limited: {refusals.count} triggers refused within "
                        f"{RATE_LIMIT_WINDOW_S:g} s (limit {self.settings.trigger_rate_per_s:g}/s,"
                        f" burst {self.settings.trigger_burst})"
                    ),
                )
            )

    # -- overrides --------------------------------------------------------------------------------

    def _override_payload(self, row: Override, item: protocol.ScreenItem | None = None) -> bytes:
        item = item or protocol.parse_item(json.loads(row.content))
        return protocol.override_payload(
            protocol.OverrideCommand(
                override_id=row.id,
                item=item,
                priority=row.priority,
                expires_at=row.expires_at,
                trigger_id=row.trigger_event_id,
                campaign_id=row.campaign_id,
                creative_id=row.creative_id,
            )
        )

    def _track(self, row: Override, payload: bytes) -> _ActiveOverride:
        active = _ActiveOverride(row.id, row.zone_id, row.expires_at, payload, row.trigger_event_id)
        if row.player_id:  # an override for one player: the others of its zone never get it
            active.delivered = {p for p, s in self._players.items() if s.zone == row.zone_id}
            active.delivered.discard(row.player_id)
        return self._hold(active)

    def _hold(self, active: _ActiveOverride) -> _ActiveOverride:
        self._active[active.id] = active
        heapq.heappush(self._expiry, (active.expires_at, active.id))
        return active

    def _deliver(self, active: _ActiveOverride, players: list[str]) -> int:
        published = 0
        for player in players:
            if player in active.delivered:
                continue
            topic = protocol.override_topic(
                self.settings.topic_prefix, self.settings.store_id, player
            )
            self.publish(topic, active.payload, False)
            active.delivered.add(player)
            published += 1
        return published

    def _publish_manual_overrides(self, session: Session, now: datetime) -> int:
        rows = session.scalars(
            select(Override).where(
                Override.kind == "manual",
                Override.state == "active",
                Override.expires_at > now,
            )
        ).all()
        published = 0
        for row in rows:
            if row.id in self._active:
                continue
            try:
                active = self._track(row, self._override_payload(row))
            except (protocol.SignageProtocolError, ValueError) as exc:
                row.state = "reverted"
                session.add(row)
                record_incident(session, "malformed_override", str(row.id), str(exc))
                continue
            published += self._deliver(active, self._online_in_zone(row.zone_id))
        return published

    def _expire(self, session: Session, now: datetime) -> int:
        """At `expires_at` the zone's players go back to their schedule: revert, mark expired."""
        expired: list[_ActiveOverride] = []
        while self._expiry and self._expiry[0][0] <= now:
            _, override_id = heapq.heappop(self._expiry)
            active = self._active.pop(override_id, None)
            if active is not None:
                expired.append(active)
        if not expired:
            return 0
        published = 0
        for active in expired:
            payload = protocol.revert_payload(active.id)
            for player in self._online_in_zone(active.zone):
                if player in active.delivered:
                    topic = protocol.revert_topic(
                        self.settings.topic_prefix, self.settings.store_id, player
                    )
                    self.publish(topic, payload, False)
                    published += 1
        session.execute(
            update(Override)
            .where(Override.id.in_([a.id for a in expired]), Override.state == "active")
            .values(state="expired")
        )
        undelivered = [
            a.trigger_event_id for a in expired if a.trigger_event_id and not a.delivered
        ]
        if undelivered:
            session.execute(
                update(TriggerEvent)
                .where(TriggerEvent.id.in_(undelivered))
                .values(outcome="expired_before_delivery")
            )
        return published

    # -- player presence and proof of play ----------------------------------------------------

    def _apply_status(self, session: Session, event: _StatusIn, now: datetime) -> int:
        row = session.get(Player, event.player)
        if row is None:
            if event.player not in self._reported_unknown:
                self._reported_unknown.add(event.player)
                record_incident(
                    session,
                    "unknown_player",
                    event.player,
                    f"status from player {event.player!r}, which this store has not registered",
                )
            return 0
        online = event.status.state == "online"
        row.online, row.last_seen = online, now
        row.now_playing = event.status.now_playing if online else None
        session.add(row)
        state = self._players.setdefault(row.id, _PlayerState(row.zone_id))
        came_online = online and not state.online
        state.online, state.zone = online, row.zone_id
        if not came_online:
            return 0
        published = 0
        for active in list(self._active.values()):  # held overrides reach it now
            if active.zone == row.zone_id and active.expires_at > now:
                published += self._deliver(active, [row.id])
        return published

    def _apply_pops(self, session: Session, event: _PopsIn, now: datetime) -> None:
        if not event.plays:
            return
        row = session.get(Player, event.player)
        if row is not None:
            row.last_pop_at = now
            session.add(row)
        self.stats["plays"] += len(event.plays)
        self.on_plays(session, event.plays)

    # -- retention --------------------------------------------------------------------------------

    def _roll_up(self, session: Session, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.settings.trigger_retention_s)
        rolled = roll_up_triggers(session, cutoff)
        self.stats["rolled_up"] += rolled
        # More to do: continue next step, one chunk at a time, so triggers never wait long.
        self._retention_backlog = rolled > 0


# -- what is recorded of a trigger ---------------------------------------------------------


def _event_row(
    sensor: str,
    kind: str,
    received_at: datetime,
    *,
    zone_id: str | None = None,
    occurred_at: datetime | None = None,
    payload: str = "{}",
    outcome: str = "no_match",
    reason: str | None = None,
) -> dict[str, Any]:
    """The columns of a new trigger_event row (every row of one insert has the same keys)."""
    return {
        "sensor_id": sensor,
        "kind": kind,
        "zone_id": zone_id,
        "received_at": received_at,
        "occurred_at": occurred_at,
        "payload": payload,
        "outcome": outcome,
        "reason": reason,
        "override_id": None,
    }


def _insert_trigger_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """One multi-row insert; each row gets its `id`."""
    if not rows:
        return
    table = TriggerEvent.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.connection().execute(statement, rows).scalars().all()
    for row, event_id in zip(rows, ids, strict=True):
        row["id"] = event_id


def _copy_outcome(event: dict[str, Any], row: TriggerEvent) -> None:
    row.outcome = event.get("outcome", row.outcome)
    row.reason = event.get("reason", row.reason)
    row.override_id = event.get("override_id", row.override_id)


def trigger_document(trigger: Trigger) -> dict:
    """The validated trigger in its wire shape (what TriggerEvent.payload holds)."""
    document: dict = {"type": trigger.kind}
    for key, value in asdict(trigger).items():
        if value is not None:
            document[key] = value.isoformat() if isinstance(value, datetime) else value
    if isinstance(trigger, LoyaltyTrigger):
        document["consent"] = True  # only consented members get past the guard
    return document
