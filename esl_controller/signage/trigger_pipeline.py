"""From a trigger to an override: rate limit -> privacy guard -> targeting -> decision.

Latency matters (a shopper is standing at the shelf), so one turn runs in its own short
transaction: decided, delivered (override ids come from a block reserved ahead, see
override_ids), and only then written with Core inserts and committed. The only statement
before the delivery is the insert that gives new trigger events their ids, because the
override message cites them.

Triggers come from the channels (queued by the intake) and from the web, which writes
accepted ones as `pending` rows (a `RowPoll`); both are validated the same way here.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import Override, TriggerEvent, Zone
from esl_controller.row_poll import RowPoll
from esl_controller.signage import protocol
from esl_controller.signage.campaigns import PACING_WINDOW, CampaignSnapshot, load_campaigns
from esl_controller.signage.intake import TriggerArrival
from esl_controller.signage.override_ids import OverrideIdBlock
from esl_controller.signage.overrides import ActiveOverride, OverrideBook
from esl_controller.signage.presence import Roster
from esl_controller.signage.rate_limit import TokenBuckets
from esl_controller.signage.slide_store import SlideStore
from esl_controller.signage.states import OverrideState, TriggerOutcome, trigger_move
from esl_controller.signage.targeting import Decision, Pacing, decide
from esl_controller.signage.trigger_record import (
    MAX_REASON_LENGTH,
    copy_outcome,
    event_row,
    insert_trigger_events,
    trigger_document,
)
from esl_controller.signage.triggers import (
    Refusal,
    Trigger,
    TriggerRejected,
    parse_trigger,
    recorded_reason,
)

WEB_TRIGGER_BATCH = 500  # triggers the web accepted, taken per poll
WEB_TRIGGER_POLL_S = 0.25
RATE_LIMIT_WINDOW_S = 1.0


@dataclass
class _Refusals:
    """Rate-limited triggers of one sensor, booked as one row per window."""

    first_at: datetime
    count: int = 0


@dataclass
class Pending:
    """One accepted trigger on its way to a decision. `event` holds the columns of its
    trigger_event row: a new row for a channel's trigger, the web's row (with its id) for one
    that came over HTTP. `override` holds the columns of the override row, id included."""

    trigger: Trigger
    event: dict[str, Any]
    stored: TriggerEvent | None = None
    item: protocol.ScreenItem | None = None
    override: dict[str, Any] | None = None


class TriggerPipeline:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        slides: SlideStore,
        stats: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.slides = slides
        self.stats = stats
        self.clock = clock
        self.snapshot = CampaignSnapshot()
        self.override_ids = OverrideIdBlock(engine)
        self.web = RowPoll("web_triggers", WEB_TRIGGER_POLL_S, self._web_rows)
        self._buckets = TokenBuckets(settings.trigger_rate_per_s, settings.trigger_burst)
        self._refusals: dict[str, _Refusals] = {}
        self._pacing = Pacing()
        self._plays: deque[tuple[datetime, int, tuple[str, ...]]] = deque()

    def reload_campaigns(self, session: Session) -> None:
        # One reference swap: the loop's thread reads it while another thread refreshes it.
        self.snapshot = load_campaigns(session, self.settings.store_id, self.clock())

    # -- one turn ---------------------------------------------------------------------------------

    def run(
        self, incoming: list[TriggerArrival], roster: Roster, book: OverrideBook, now: datetime
    ) -> int:
        """Decide, deliver, then write; returns how many override messages went out."""
        poll_web = self.web.due(now)
        if not incoming and not poll_web:
            return 0
        self.override_ids.ensure(len(incoming) + (WEB_TRIGGER_BATCH if poll_web else 0))
        with Session(self.engine, expire_on_commit=False) as session:
            new_events: list[dict[str, Any]] = []
            accepted = [p for t in incoming if (p := self._admit(t, roster, new_events))]
            if poll_web:
                accepted += self._from_web(session, roster, self.web.fetch(session, now), now)
            for pending in accepted:
                self._decide(session, pending, roster, now)
            insert_trigger_events(session, new_events)
            decided = [p for p in accepted if p.override is not None]
            sent = 0
            for pending in decided:
                pending.override["trigger_event_id"] = pending.event["id"]
                sent += book.deliver_to_zone(book.hold(_active_override(pending)))
            if decided:
                session.connection().execute(
                    insert(Override.__table__), [p.override for p in decided]
                )
            for pending in accepted:
                if pending.stored is not None:
                    copy_outcome(pending.event, pending.stored)
                    session.add(pending.stored)
            session.commit()
        return sent

    # -- rate limit, then the privacy guard ------------------------------------------------------

    def _admit(
        self, incoming: TriggerArrival, roster: Roster, new_events: list[dict[str, Any]]
    ) -> Pending | None:
        """Refusals are booked, nothing refused is kept. Every trigger that gets a row
        appends it to `new_events`."""
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
                known_zones=roster.zones,
                sensor=incoming.sensor,
            )
        except TriggerRejected as rejected:
            self.stats["rejected_privacy" if rejected.privacy else "rejected"] += 1
            new_events.append(
                event_row(
                    incoming.sensor,
                    rejected.claimed_kind,  # the payload is not parsed again to guess it
                    incoming.received_at,
                    store_id=self.settings.store_id,
                    outcome=TriggerOutcome.REJECTED,
                    reason=recorded_reason(rejected),
                )
            )
            return None
        event = event_row(
            incoming.sensor,
            trigger.kind,
            incoming.received_at,
            store_id=self.settings.store_id,
            zone_id=trigger.zone,
            occurred_at=trigger.at,
            payload=json.dumps(trigger_document(trigger), sort_keys=True),
        )
        new_events.append(event)
        return Pending(trigger, event)

    def _web_rows(self, session: Session, now: datetime) -> list[TriggerEvent]:
        horizon = now - timedelta(seconds=self.settings.trigger_max_age_s * 2)
        return list(
            session.scalars(
                select(TriggerEvent)
                .where(
                    # through the zone, which an accepted trigger always names
                    TriggerEvent.zone_id.in_(
                        select(Zone.id).where(Zone.store_id == self.settings.store_id)
                    ),
                    TriggerEvent.received_at >= horizon,
                    TriggerEvent.outcome == TriggerOutcome.PENDING,
                )
                .order_by(TriggerEvent.id)
                .limit(WEB_TRIGGER_BATCH)
            ).all()
        )

    def _from_web(
        self, session: Session, roster: Roster, rows: list[TriggerEvent], now: datetime
    ) -> list[Pending]:
        """Triggers the web accepted, re-validated like a channel's."""
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
                    known_zones=roster.zones,
                    sensor=row.sensor_id,
                )
            except TriggerRejected as rejected:
                self.stats["rejected"] += 1
                move = trigger_move(TriggerOutcome(row.outcome), TriggerOutcome.REJECTED)
                row.outcome, row.reason, row.payload = move.target, recorded_reason(rejected), "{}"
                session.add(row)
                continue
            accepted.append(Pending(trigger, {"id": row.id}, stored=row))
        return accepted

    def book_refusals(self, session: Session, now: datetime, force: bool = False) -> None:
        """One row per sensor and window for a storm, however many triggers it refused."""
        for sensor, refusals in list(self._refusals.items()):
            if not force and (now - refusals.first_at).total_seconds() < RATE_LIMIT_WINDOW_S:
                continue
            del self._refusals[sensor]
            session.add(
                TriggerEvent(
                    store_id=self.settings.store_id,
                    sensor_id=sensor,
                    kind="unknown",
                    received_at=refusals.first_at,
                    payload=json.dumps({"refused": refusals.count}),
                    outcome=TriggerOutcome.RATE_LIMITED,
                    reason=(
                        f"rate limited: {refusals.count} triggers refused within "
                        f"{RATE_LIMIT_WINDOW_S:g} s (limit {self.settings.trigger_rate_per_s:g}/s,"
                        f" burst {self.settings.trigger_burst})"
                    ),
                )
            )

    # -- targeting, then the override decision ----------------------------------------------------

    def _decide(self, session: Session, pending: Pending, roster: Roster, now: datetime) -> None:
        players = roster.in_zone(pending.trigger.zone)
        self._expire_pacing(now)
        snapshot = self.snapshot
        decision = decide(
            pending.trigger,
            snapshot.campaigns,
            players,
            self._pacing,
            now,
            snapshot.timezone,
            self.settings.override_ttl_s,
            zone_kind=snapshot.zone_kinds.get(pending.trigger.zone),
        )
        self._pacing.opportunities += 1
        event = pending.event
        if decision is None:
            event["outcome"], event["reason"] = TriggerOutcome.NO_MATCH, "no eligible campaign"
            self.stats["no_match"] += 1
            return
        item = self._decision_item(session, decision)
        if item is None:
            event["outcome"] = TriggerOutcome.NO_MATCH
            event["reason"] = f"{decision.reason}; but no promo slide: no product with that GTIN"
            self.stats["no_match"] += 1
            return
        if decision.campaign_id is not None:
            self._pacing.wins[decision.campaign_id] = (
                self._pacing.wins.get(decision.campaign_id, 0) + 1
            )
            self._count_plays(now, decision.campaign_id, players)
        override_id = self.override_ids.take()
        event["outcome"], event["reason"] = (
            TriggerOutcome.MATCHED,
            decision.reason[:MAX_REASON_LENGTH],
        )
        event["override_id"] = override_id
        self.stats["matched"] += 1
        pending.item = item
        pending.override = {
            "id": override_id,
            "store_id": self.settings.store_id,
            "zone_id": decision.zone,
            "player_id": None,
            "kind": decision.kind,
            "content": protocol.item_json(item),
            "priority": decision.priority,
            "created_at": now,
            "expires_at": now + timedelta(seconds=decision.ttl_s),
            "state": OverrideState.ACTIVE,
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


def _active_override(pending: Pending) -> ActiveOverride:
    values = pending.override
    assert values is not None and pending.item is not None
    command = protocol.OverrideCommand(
        override_id=values["id"],
        item=pending.item,
        priority=values["priority"],
        expires_at=values["expires_at"],
        trigger_id=values["trigger_event_id"],
        campaign_id=values["campaign_id"],
        creative_id=values["creative_id"],
    )
    return ActiveOverride(
        values["id"], values["zone_id"], values["expires_at"], command, values["trigger_event_id"]
    )
