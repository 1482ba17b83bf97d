"""Proof-of-play ingest: plays from MQTT or HTTP into `Play` rows and the impression chain.

One batch is one transaction. Idempotent by play id: a play already stored (or seen earlier
in the same batch) is counted as a duplicate and writes nothing, so a player replaying its
offline buffer, or the broker redelivering a QoS 1 message after a crash, counts once.

Every accepted play of a campaign appends one `Impression` to the hash chain. The chain head
is read and extended inside the batch's transaction, which takes the database's write lock
first (`BEGIN IMMEDIATE` on SQLite, an advisory lock on PostgreSQL): two writers can never
both extend the same head and fork the chain.

The multiplier is measured when the screen has an audience sensor and its zone reported
audience counts during the play, else declared by the screen for the store-local daypart.
A screen whose declaration cannot be read counts 1 person per play, and an incident says so.

Every play names the screen that made it, and must come from that screen: the caller passes
the player its MQTT topic or HTTP credential authenticates (`authenticated_player`), and a
play naming another player is refused. The billing rules (`validation.billing_refusal`)
then check the campaign's zones, flight and creative duration.

Refused plays are stored as `RejectedPlay` rows ("code: reason"), counted per player.
Plays overlapping earlier plays of the same player are kept with a flag and billed once:
the overlapping play writes no impression.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import chain, hour_totals, impressions, validation
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.incidents import record_incident
from esl_controller.models import (
    Campaign,
    Creative,
    Impression,
    ImpressionHourly,
    Play,
    Player,
    RejectedPlay,
    Store,
    TriggerEvent,
    Zone,
)
from esl_controller.signage import protocol
from esl_controller.signage.targeting import Targeting, parse_targeting

log = logging.getLogger(__name__)

MAX_BATCH = protocol.MAX_PLAYS_PER_MESSAGE
UNKNOWN_CREATIVE = "unknown_creative"
WRONG_PLAYER = validation.WRONG_PLAYER
NOT_A_PLAYER = validation.NOT_A_PLAYER
OTHER_STORE = "other_store"  # a store's worker got a play from a screen of another store
# Earlier plays that started this long before a play are not compared for clock jumps:
# ads last seconds, and the lookback bounds the per-batch query.
CLOCK_LOOKBACK = timedelta(hours=2)
MAX_RAW_CHARS = 2000
_PG_CHAIN_LOCK = 0x65736C5F  # "esl_": the advisory lock serialising chain writers
_PLAY_SCHEMA = protocol.PlaySchema()


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[tuple[str, str]]  # (play_id, reason), one per refused play
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (play_id, flag)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"play_id": pid, "reason": reason} for pid, reason in self.rejected],
            "flagged": [{"play_id": pid, "flag": flag} for pid, flag in self.flagged],
        }


@dataclass(frozen=True)
class _Window:
    """An earlier play of a player, as `validation.clock_flag` compares it."""

    play_id: str
    started_at: datetime
    ended_at: datetime


@dataclass
class _BatchContext:
    """What the batch's rules need from the database, read once per batch."""

    players: dict[str, Any]
    campaigns: dict[int, Any]
    terms: dict[int, validation.CampaignTerms]
    creatives: dict[int, Any]
    store_tz: dict[str, str]
    existing_ids: set[str]
    windows: dict[str, list[_Window]]  # per player, sorted by start
    audience: dict[str, list[tuple[datetime, int]]]  # per zone, sorted by time
    head_seq: int
    head_hash: str


class PlayIngestor:
    """Stores proof-of-play batches. `ingest` opens its own transaction; `ingest_in` joins
    the caller's session (the worker's signage service, which already writes)."""

    def __init__(
        self, engine: Engine, settings: Settings, *, clock=utcnow, only_store: str | None = None
    ) -> None:
        """`only_store`: a store's worker takes plays of its own players only (a play from a
        screen of another store is refused); None takes any store's (the web, an import)."""
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.only_store = only_store

    def ingest(
        self,
        raw_plays: Sequence[Mapping[str, Any] | protocol.Play],
        source: str,
        *,
        authenticated_player: str | None = None,
    ) -> IngestResult:
        """Store one batch. `authenticated_player`: the player the credential (HTTP) or the
        topic (MQTT) names; plays it reports for another player are refused. None only for
        a trusted gateway (an admin token, an import) that reports for any screen."""
        with Session(self.engine, expire_on_commit=False) as session:
            take_chain_lock(session)
            try:
                result = self.ingest_in(
                    session, raw_plays, source, authenticated_player=authenticated_player
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return result

    def refuse_batch(self, raw_plays: Sequence[Any], source: str, reason: str) -> IngestResult:
        """Record every play of a batch as refused (`NOT_A_PLAYER`: `reason`) and store
        nothing else: for a caller whose credential names no player, so that none of what
        it reports can be billed, yet the attempt is counted like any refused play."""
        now = self.clock()
        rows = [
            _rejected_row(raw, NOT_A_PLAYER, reason, now, self.only_store)
            for raw in raw_plays[:MAX_BATCH]
        ]
        if rows:
            with Session(self.engine) as session:
                session.execute(insert(RejectedPlay.__table__), rows)
                session.commit()
            log.info("%s: refused %d plays from a credential of no player", source, len(rows))
        return IngestResult(
            accepted=0, duplicates=0, rejected=[(r["play_id"], r["reason"]) for r in rows]
        )

    def lock_chain(self, session: Session) -> None:
        """`take_chain_lock` in the caller's transaction (the signage service's)."""
        take_chain_lock(session)

    def on_plays(self, plays: Sequence[protocol.Play], player: str) -> IngestResult:
        """The MQTT hook: plays as `signage.protocol.parse_pops` returns them, from the
        player whose pop topic they arrived on."""
        return self.ingest(plays, "mqtt", authenticated_player=player)

    def ingest_in(
        self,
        session: Session,
        raw_plays: Sequence[Mapping[str, Any] | protocol.Play],
        source: str,
        *,
        authenticated_player: str | None = None,
    ) -> IngestResult:
        if len(raw_plays) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} plays, got {len(raw_plays)}")
        now = self.clock()
        documents = [_as_document(raw) for raw in raw_plays]
        context = _load_context(session, [document for document, _ in documents])
        batch = _Batch(self.settings, context, now, source, authenticated_player, self.only_store)
        for document, trusted in documents:
            batch.add(document, wire_checked=trusted)
        batch.write(session)
        return batch.result()


def take_chain_lock(session: Session) -> None:
    """Serialise chain writers before the head is read (see the module docstring)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})


def _as_document(raw: Mapping[str, Any] | protocol.Play | Any) -> tuple[Any, bool]:
    """(the play as the wire dict, whether the wire schema already checked it): a Play from
    `protocol.parse_pops` has been; a raw mapping (HTTP) has not."""
    if isinstance(raw, protocol.Play):
        return dict(vars(raw)), True  # shallow: asdict() would deep-copy every datetime
    return raw, False


# --- reading what the rules need --------------------------------------------------------------


def _ids(documents: Iterable[Any], key: str, kind: type) -> set[Any]:
    return {
        d.get(key)
        for d in documents
        if isinstance(d, Mapping)
        and isinstance(d.get(key), kind)
        and not isinstance(d.get(key), bool)
    }


def _load_context(session: Session, documents: list[Any]) -> _BatchContext:
    player_ids = _ids(documents, "player", str)
    players = {
        row.id: row
        for row in session.execute(
            select(
                Player.id,
                Player.zone_id,
                Player.store_id,
                Player.name,
                Player.has_audience_sensor,
                Player.declared_audience,
                Zone.kind.label("zone_kind"),
            )
            .outerjoin(Zone, Zone.id == Player.zone_id)
            .where(Player.id.in_(player_ids))
        )
    }
    campaigns = {
        row.id: row
        for row in session.execute(
            select(
                Campaign.id,
                Campaign.name,
                Campaign.advertiser_id,
                Campaign.cpm_minor,
                Campaign.currency,
                Campaign.starts_at,
                Campaign.ends_at,
                Campaign.targeting,
            ).where(Campaign.id.in_(_ids(documents, "campaign_id", int)))
        )
    }
    creatives = {
        row.id: row
        for row in session.execute(
            select(Creative.id, Creative.name, Creative.campaign_id, Creative.duration_s).where(
                Creative.id.in_(_ids(documents, "creative_id", int))
            )
        )
    }
    store_tz = {row.id: row.timezone for row in session.execute(select(Store.id, Store.timezone))}
    play_ids = _ids(documents, "play_id", str)
    existing = set(session.scalars(select(Play.play_id).where(Play.play_id.in_(play_ids))))
    starts, ends = _batch_span(documents)
    head_seq, head_hash = chain_head(session)
    return _BatchContext(
        players=players,
        campaigns=campaigns,
        terms=_campaign_terms(session, campaigns),
        creatives=creatives,
        store_tz=store_tz,
        existing_ids=existing,
        windows=_recent_windows(session, set(players), starts, ends),
        audience=_audience_counts(session, players.values(), starts, ends),
        head_seq=head_seq,
        head_hash=head_hash,
    )


def _campaign_terms(
    session: Session, campaigns: Mapping[int, Any]
) -> dict[int, validation.CampaignTerms]:
    """Each campaign's billing terms, its targeting parsed once a batch."""
    if not campaigns:
        return {}
    longest = dict(
        session.execute(
            select(Creative.campaign_id, func.max(Creative.duration_s))
            .where(Creative.campaign_id.in_(list(campaigns)))
            .group_by(Creative.campaign_id)
        ).all()
    )
    terms = {}
    for campaign_id, row in campaigns.items():
        targeting = Targeting()
        problem = None
        try:
            targeting = parse_targeting(row.targeting)
        except ValueError as exc:
            problem = f"its targeting cannot be read ({exc})"
        seconds = longest.get(campaign_id)
        terms[campaign_id] = validation.CampaignTerms(
            starts_at=impressions.as_utc(row.starts_at),
            ends_at=impressions.as_utc(row.ends_at),
            zones=targeting.zones,
            longest_creative_ms=None if seconds is None else _seconds_ms(seconds),
            targeting_problem=problem,
            stores=targeting.stores,
            zone_kinds=targeting.zone_kinds,
        )
    return terms


def _seconds_ms(seconds: float) -> int:
    return round(seconds * 1000)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        try:
            return impressions.as_utc(value)
        except OverflowError:  # refused by the rules later; it only bounds the batch's span
            return None
    return None


def _batch_span(documents: list[Any]) -> tuple[datetime | None, datetime | None]:
    starts = [
        m for d in documents if isinstance(d, Mapping) and (m := _moment(d.get("started_at")))
    ]
    ends = [m for d in documents if isinstance(d, Mapping) and (m := _moment(d.get("ended_at")))]
    if not starts or not ends:
        return None, None
    return min(starts), max(ends)


def _recent_windows(
    session: Session, player_ids: set[str], start: datetime | None, end: datetime | None
) -> dict[str, list[_Window]]:
    windows: dict[str, list[_Window]] = defaultdict(list)
    if not player_ids or start is None or end is None:
        return windows
    rows = session.execute(
        select(Play.play_id, Play.player_id, Play.started_at, Play.ended_at)
        .where(Play.player_id.in_(player_ids))
        .where(Play.started_at >= start - CLOCK_LOOKBACK, Play.started_at <= end)
        .where(Play.ended_at > start)
        .order_by(Play.started_at)
    )
    for row in rows:
        windows[row.player_id].append(
            _Window(
                row.play_id, impressions.as_utc(row.started_at), impressions.as_utc(row.ended_at)
            )
        )
    return windows


def _audience_counts(
    session: Session, players: Iterable[Any], start: datetime | None, end: datetime | None
) -> dict[str, list[tuple[datetime, int]]]:
    zones = {p.zone_id for p in players if p.has_audience_sensor}
    counts: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    if not zones or start is None or end is None:
        return counts
    rows = session.execute(
        select(TriggerEvent.zone_id, TriggerEvent.occurred_at, TriggerEvent.payload)
        .where(TriggerEvent.kind == "audience", TriggerEvent.zone_id.in_(zones))
        .where(TriggerEvent.occurred_at >= start, TriggerEvent.occurred_at <= end)
        .order_by(TriggerEvent.occurred_at)
    )
    for row in rows:
        count = _audience_count(row.payload)
        if count is not None and row.occurred_at is not None:
            counts[row.zone_id].append((impressions.as_utc(row.occurred_at), count))
    return counts


def _audience_count(payload: str) -> int | None:
    try:
        count = json.loads(payload).get("count")
    except (ValueError, AttributeError):
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return None
    return count


def chain_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the chain's last record: raw, else the last roll-up's, else genesis."""
    raw = session.execute(
        select(Impression.seq, Impression.hash).order_by(Impression.seq.desc()).limit(1)
    ).first()
    if raw is not None:
        return int(raw.seq), raw.hash
    rolled = session.execute(
        select(func.max(ImpressionHourly.last_seq)).where(ImpressionHourly.last_seq > 0)
    ).scalar()
    if rolled:
        segment_hash = session.scalars(
            select(ImpressionHourly.segment_hash).where(ImpressionHourly.last_seq == rolled)
        ).first()
        return int(rolled), segment_hash or chain.GENESIS_HASH
    return 0, chain.GENESIS_HASH


# --- applying the rules to one batch -----------------------------------------------------------


class _Batch:
    def __init__(
        self,
        settings: Settings,
        context: _BatchContext,
        now: datetime,
        source: str,
        authenticated_player: str | None,
        only_store: str | None,
    ) -> None:
        self.authenticated_player = authenticated_player
        self.only_store = only_store
        self.settings = settings
        self.context = context
        self.now = now
        self.source = source
        self.seen: set[str] = set(context.existing_ids)
        self.plays: list[dict[str, Any]] = []
        self.impressions: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.flagged: list[tuple[str, str]] = []
        self.duplicates = 0
        self.head_seq, self.head_hash = context.head_seq, context.head_hash
        self.bad_declarations: dict[str, str] = {}
        self._declarations: dict[str, impressions.DeclaredAudience | None] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self.longest: dict[str, timedelta] = {
            player: max((w.ended_at - w.started_at for w in windows), default=timedelta(0))
            for player, windows in context.windows.items()
        }

    def add(self, document: Any, *, wire_checked: bool) -> None:
        play_id = document.get("play_id") if isinstance(document, Mapping) else None
        if isinstance(play_id, str) and play_id in self.seen:
            self.duplicates += 1
            return
        outcome = validation.check_play(
            document,
            now=self.now,
            retention_days=self.settings.play_retention_days,
            max_skew_s=self.settings.pop_max_skew_s,
            known_players=self.context.players,
            known_campaigns=self.context.campaigns,
        )
        if isinstance(outcome, validation.RejectedReason):
            self._reject(document, outcome.code, outcome.reason)
            return
        player_store = self.context.players[outcome.player_id].store_id
        if self.only_store is not None and player_store != self.only_store:
            self._reject(
                document,
                OTHER_STORE,
                f"player {outcome.player_id!r} belongs to store {player_store!r}, not to "
                f"{self.only_store!r}; only its own store takes its plays",
            )
            return
        problem = None if wire_checked else _wire_problem(document)
        if problem:
            self._reject(document, validation.MALFORMED, problem)
            return
        creative_problem = self._creative_problem(outcome)
        if creative_problem:
            self._reject(document, UNKNOWN_CREATIVE, creative_problem)
            return
        refusal = self._billing_refusal(outcome)
        if refusal:
            self._reject(document, *refusal)
            return
        self.seen.add(outcome.play_id)
        self._accept(outcome)

    def _creative_problem(self, play: validation.AcceptedPlay) -> str | None:
        if play.creative_id is None:
            return None
        creative = self.context.creatives.get(play.creative_id)
        if creative is None:
            return f"creative {play.creative_id} does not exist"
        if play.campaign_id is not None and creative.campaign_id != play.campaign_id:
            return (
                f"creative {play.creative_id} belongs to campaign {creative.campaign_id}, "
                f"not {play.campaign_id}"
            )
        return None

    def _billing_refusal(self, play: validation.AcceptedPlay) -> tuple[str, str] | None:
        creative = self.context.creatives.get(play.creative_id) if play.creative_id else None
        player = self.context.players[play.player_id]
        return validation.billing_refusal(
            play,
            authenticated_player=self.authenticated_player,
            place=validation.ScreenPlace(player.store_id, player.zone_id, player.zone_kind or ""),
            terms=None if play.campaign_id is None else self.context.terms[play.campaign_id],
            creative_ms=None if creative is None else _seconds_ms(creative.duration_s),
        )

    def _accept(self, play: validation.AcceptedPlay) -> None:
        player = self.context.players[play.player_id]
        flag = self._clock_flag(play)
        self.plays.append(
            {
                "store_id": player.store_id,
                "play_id": play.play_id,
                "player_id": play.player_id,
                "zone_id": player.zone_id,
                "item_id": play.item_id,
                "campaign_id": play.campaign_id,
                "creative_id": play.creative_id,
                "override_id": play.override_id,
                "trigger_id": play.trigger_id,
                "started_at": play.started_at,
                "ended_at": play.ended_at,
                "local_offset_minutes": play.local_offset_minutes,
                "received_at": self.now,
                "flag": flag,
            }
        )
        if flag:
            self.flagged.append((play.play_id, flag))
        elif play.campaign_id is not None:
            self._append_impression(play, player)

    def _clock_flag(self, play: validation.AcceptedPlay) -> str | None:
        windows = self.context.windows.setdefault(play.player_id, [])
        # Only plays that start before this one ends and end after it starts can overlap it;
        # none started longer ago than the player's longest play.
        longest = max(
            self.longest.get(play.player_id, timedelta(0)), play.ended_at - play.started_at
        )
        self.longest[play.player_id] = longest
        upper = bisect.bisect_right(windows, play.ended_at, key=lambda w: w.started_at)
        nearby = []
        for index in range(upper - 1, -1, -1):
            window = windows[index]
            if window.started_at < play.started_at - longest:
                break
            if window.ended_at > play.started_at:
                nearby.append(window)
        flag = validation.clock_flag(nearby, play, max_skew_s=validation.OVERLAP_TOLERANCE_S)
        if flag:
            flag = f"not billed: {flag}"
        bisect.insort(
            windows,
            _Window(play.play_id, play.started_at, play.ended_at),
            key=lambda w: w.started_at,
        )
        return flag

    def _multiplier(self, play: validation.AcceptedPlay, player: Any) -> tuple[int, str]:
        """As `impressions.choose_multiplier`, with each declaration parsed once a batch
        (parsing it per play was the batch's largest cost)."""
        if player.has_audience_sensor:
            counts = self._counts_in_window(player, play)
            measured = impressions.measured_multiplier_milli(counts, play.started_at, play.ended_at)
            if measured is not None:
                return measured, impressions.MEASURED
        declared = self._declaration(player)
        if declared is None:
            return impressions.DEFAULT_MULTIPLIER_MILLI, impressions.DECLARED
        zone = self._zones.get(player.store_id)
        if zone is None:
            zone = self._zones[player.store_id] = ZoneInfo(
                self.context.store_tz.get(player.store_id) or "UTC"
            )
        local_time = play.started_at.astimezone(zone).time().replace(tzinfo=None)
        return declared.multiplier_milli(local_time), impressions.DECLARED

    def _declaration(self, player: Any) -> impressions.DeclaredAudience | None:
        """The player's parsed declaration; None (and an incident later) when unreadable."""
        if player.id in self._declarations:
            return self._declarations[player.id]
        try:
            declared = impressions.parse_declared_audience(player.declared_audience)
        except ValueError as exc:
            self.bad_declarations[player.id] = str(exc)
            declared = None
        self._declarations[player.id] = declared
        return declared

    def _counts_in_window(
        self, player: Any, play: validation.AcceptedPlay
    ) -> list[tuple[datetime, int]]:
        counts = self.context.audience.get(player.zone_id, [])
        low = bisect.bisect_left(counts, play.started_at, key=lambda c: c[0])
        high = bisect.bisect_right(counts, play.ended_at, key=lambda c: c[0])
        return counts[low:high]

    def _append_impression(self, play: validation.AcceptedPlay, player: Any) -> None:
        campaign = self.context.campaigns[play.campaign_id]
        creative = self.context.creatives.get(play.creative_id) if play.creative_id else None
        multiplier, source = self._multiplier(play, player)
        facts = impressions.impression_for(
            impressions.PlayFacts(
                play.play_id,
                play.player_id,
                player.zone_id,
                play.campaign_id,
                play.creative_id,
                play.started_at,
                play.ended_at,
            ),
            multiplier,
            source,
            campaign.cpm_minor,
        )
        row = {
            "seq": self.head_seq + 1,
            "play_id": play.play_id,
            "campaign_id": campaign.id,
            "campaign_name": campaign.name,
            "advertiser_id": campaign.advertiser_id,
            "creative_id": play.creative_id,
            "creative_name": creative.name if creative else "",
            "player_id": play.player_id,
            "player_name": player.name,
            "zone_id": player.zone_id,
            "started_at": play.started_at,
            "play_ms": facts.play_ms,
            "multiplier_milli": facts.multiplier_milli,
            "multiplier_source": facts.multiplier_source,
            "impressions_milli": facts.impressions_milli,
            "cpm_minor": facts.cpm_minor,
            "currency": campaign.currency,
            "prev_hash": self.head_hash,
        }
        row["hash"] = chain.record_hash(self.head_hash, chain.billed_fields(row))
        self.head_seq, self.head_hash = row["seq"], row["hash"]
        self.impressions.append(row)

    def _reject(self, document: Any, code: str, reason: str) -> None:
        player_id = document.get("player") if isinstance(document, Mapping) else None
        known = self.context.players.get(player_id) if isinstance(player_id, str) else None
        store = known.store_id if known is not None else self.only_store
        self.rejected.append(_rejected_row(document, code, reason, self.now, store))

    def write(self, session: Session) -> None:
        if self.plays:
            session.execute(insert(Play.__table__), self.plays)
            players = {p["player_id"] for p in self.plays}
            session.execute(
                update(Player.__table__)
                .where(Player.__table__.c.id.in_(players))
                .values(last_pop_at=self.now)
            )
        if self.impressions:
            session.execute(insert(Impression.__table__), self.impressions)
            hour_totals.add_impressions(session, self.impressions)
        if self.rejected:
            session.execute(insert(RejectedPlay.__table__), self.rejected)
            log.info("%s: refused %d plays", self.source, len(self.rejected))
        for player_id, problem in self.bad_declarations.items():
            record_incident(
                session,
                "bad_declared_audience",
                player_id,
                f"declared audience unreadable, counted 1 per play: {problem}",
                store_id=self.context.players[player_id].store_id,
            )

    def result(self) -> IngestResult:
        return IngestResult(
            accepted=len(self.plays),
            duplicates=self.duplicates,
            rejected=[(r["play_id"], r["reason"]) for r in self.rejected],
            flagged=self.flagged,
        )


def _wire_problem(document: Any) -> str | None:
    """The wire contract's check (signage.protocol's schema): types, uuid4 play id, ids."""
    if not isinstance(document, Mapping):
        return f"expected a JSON object, got {type(document).__name__}"
    errors = _PLAY_SCHEMA.validate(_wire_form(document))
    if not errors:
        return None
    return "; ".join(_flatten(errors))


def _wire_form(document: Mapping[str, Any]) -> dict[str, Any]:
    """Aware datetimes (from a parsed Play) back to ISO text for the wire schema."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in document.items()
    }


def _flatten(messages: Any, path: str = "") -> list[str]:
    if isinstance(messages, Mapping):
        lines: list[str] = []
        for key, value in messages.items():
            where = path if key == "_schema" else f"{path}.{key}" if path else str(key)
            lines.extend(_flatten(value, where))
        return lines
    if isinstance(messages, list):
        return [f"{path}: {message}" if path else str(message) for message in messages]
    return [f"{path}: {messages}"]


def _rejected_row(
    document: Any, code: str, reason: str, now: datetime, store_id: str | None
) -> dict[str, Any]:
    """A `RejectedPlay` row: the ids as far as they can be read, the reason, the raw play;
    `store_id` the store of its player when known (else the store that received it)."""
    if isinstance(document, protocol.Play):
        document = dict(vars(document))
    mapping = document if isinstance(document, Mapping) else {}
    play_id = mapping.get("play_id")
    player_id = mapping.get("player")
    return {
        "store_id": store_id,
        "play_id": play_id[:128] if isinstance(play_id, str) else "",
        "player_id": player_id[:128] if isinstance(player_id, str) else "",
        "reason": f"{code}: {reason}",
        "received_at": now,
        "raw": _raw_text(document),
    }


def _raw_text(document: Any) -> str:
    try:
        return json.dumps(document, default=str, ensure_ascii=False)[:MAX_RAW_CHARS]
    except (TypeError, ValueError):
        return repr(document)[:MAX_RAW_CHARS]


def rejected_counts(session: Session) -> dict[str, int]:
    """Refused plays per player id (the dashboard's "rejected plays" column)."""
    rows = session.execute(
        select(RejectedPlay.player_id, func.count()).group_by(RejectedPlay.player_id)
    )
    return {player_id: int(count) for player_id, count in rows}
