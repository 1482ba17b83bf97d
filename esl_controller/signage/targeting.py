"""Which campaign (or promo slide) a trigger puts on the screens of its zone.

Eligible campaigns are in flight, aimed at the trigger's zone, daypart, weekday and kind,
their audience or loyalty criteria are met, no player of the zone has reached the frequency
cap, and the campaign has not taken more than its share of voice. Among those: highest
priority, then the one furthest behind its share (pacing), then the lowest id. A shelf
pick-up nobody bought becomes that product's promo slide.

Pure: `now`, the store's zone and the pacing counters come from the caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from esl_controller.labels.hardware import flatten_errors
from esl_controller.signage.playlists import Daypart, Schedule, parse_daypart, parse_weekday
from esl_controller.signage.schedule import is_active_local, store_zone
from esl_controller.signage.triggers import (
    AGE_BANDS,
    GENDERS,
    AudienceTrigger,
    LoyaltyTrigger,
    Trigger,
    ZoneTrigger,
)

TRIGGER_KINDS = ("audience", "zone", "loyalty")


@dataclass(frozen=True)
class Targeting:
    """Empty sets / None mean "no restriction" on that dimension."""

    zones: frozenset[str] = frozenset()
    stores: frozenset[str] = frozenset()  # a chain campaign's stores
    zone_kinds: frozenset[str] = frozenset()  # zones of these kinds, in any of its stores
    dayparts: tuple[Daypart, ...] = ()
    weekdays: frozenset[int] = frozenset()
    triggers: frozenset[str] = frozenset()
    min_count: int | None = None
    age_bands: Mapping[str, float] = field(default_factory=dict)  # minimum shares
    gender: Mapping[str, float] = field(default_factory=dict)  # minimum shares
    min_dwell_s: float | None = None
    min_attention_s: float | None = None
    loyalty_segments: frozenset[str] = frozenset()

    @property
    def wants_audience(self) -> bool:
        return bool(
            self.min_count is not None
            or self.age_bands
            or self.gender
            or self.min_dwell_s is not None
            or self.min_attention_s is not None
        )

    @property
    def schedule(self) -> Schedule:
        return Schedule(weekdays=self.weekdays, dayparts=self.dayparts)

    def runs_in_store(self, store_id: str) -> bool:
        return not self.stores or store_id in self.stores

    def covers_zone(self, zone_id: str, zone_kind: str | None) -> bool:
        """Zone ids and zone kinds both narrow: a zone must pass each list that is set.
        An unknown kind (None) passes no kind list."""
        if self.zones and zone_id not in self.zones:
            return False
        return not self.zone_kinds or (zone_kind is not None and zone_kind in self.zone_kinds)


@dataclass(frozen=True)
class CreativeInfo:
    id: int
    name: str
    kind: str  # image | video | web | promo_slide
    duration_s: float
    media_sha256: str | None = None
    url: str | None = None
    gtin: str | None = None


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    advertiser: str
    priority: int
    starts_at: datetime
    ends_at: datetime  # exclusive
    targeting: Targeting
    frequency_cap_per_hour: int | None
    share_of_voice: float
    creatives: tuple[CreativeInfo, ...]


@dataclass
class Pacing:
    """What the caller tracks: plays per (campaign, player) in the last hour, wins per campaign."""

    plays_last_hour: dict[tuple[int, str], int] = field(default_factory=dict)
    wins: dict[int, int] = field(default_factory=dict)
    opportunities: int = 0


@dataclass(frozen=True)
class Decision:
    campaign_id: int | None
    creative: CreativeInfo | None
    kind: str  # campaign | promo_slide
    priority: int
    ttl_s: float
    zone: str
    gtin: str | None
    reason: str


# --- parsing Campaign.targeting -----------------------------------------------------------


class _Listed(fields.Field):
    """A value parsed by a plain function that raises ValueError (dayparts, weekdays)."""

    def __init__(self, parse: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse = parse

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class _StrictNumber(fields.Float):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"must be a number, got {value!r}")
        return float(value)


_SHARE = _StrictNumber(validate=validate.Range(min=0, max=1, error="share must be in 0..1"))
_NOT_NEGATIVE = validate.Range(min=0, error="must be >= 0")


class AudienceCriteriaSchema(Schema):
    min_count = fields.Integer(strict=True, validate=_NOT_NEGATIVE, load_default=None)
    age_bands = fields.Dict(
        keys=fields.String(validate=validate.OneOf(AGE_BANDS)), values=_SHARE, load_default=dict
    )
    gender = fields.Dict(
        keys=fields.String(validate=validate.OneOf(GENDERS)), values=_SHARE, load_default=dict
    )
    min_dwell_s = _StrictNumber(validate=_NOT_NEGATIVE, load_default=None)
    min_attention_s = _StrictNumber(validate=_NOT_NEGATIVE, load_default=None)


class TargetingSchema(Schema):
    zones = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    stores = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    zone_kinds = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    dayparts = fields.List(_Listed(parse_daypart), load_default=list)
    weekdays = fields.List(_Listed(parse_weekday), load_default=list)
    triggers = fields.List(fields.String(validate=validate.OneOf(TRIGGER_KINDS)), load_default=list)
    audience = fields.Nested(AudienceCriteriaSchema, load_default=dict)
    loyalty_segments = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=list
    )


def parse_targeting(text_json: str) -> Targeting:
    """`Campaign.targeting` JSON as a `Targeting`, or ValueError naming the field."""
    try:
        raw = json.loads(text_json or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"targeting: malformed JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"targeting: must be a JSON object, got {type(raw).__name__}")
    try:
        data = TargetingSchema().load(raw)
    except ValidationError as exc:
        first = flatten_errors(exc.messages)[0].replace("Unknown field.", "unknown field")
        raise ValueError(f"targeting.{first}") from exc
    audience = data["audience"] or {}
    return Targeting(
        zones=frozenset(data["zones"]),
        stores=frozenset(data["stores"]),
        zone_kinds=frozenset(data["zone_kinds"]),
        dayparts=tuple(data["dayparts"]),
        weekdays=frozenset(data["weekdays"]),
        triggers=frozenset(data["triggers"]),
        min_count=audience.get("min_count"),
        age_bands=dict(audience.get("age_bands") or {}),
        gender=dict(audience.get("gender") or {}),
        min_dwell_s=audience.get("min_dwell_s"),
        min_attention_s=audience.get("min_attention_s"),
        loyalty_segments=frozenset(data["loyalty_segments"]),
    )


# --- eligibility --------------------------------------------------------------------------


def _at_least(measured: float | None, minimum: float | None) -> bool:
    return minimum is None or (measured is not None and measured >= minimum)


def _shares_met(measured: Mapping[str, float], minimum: Mapping[str, float]) -> bool:
    return all(measured.get(key, 0.0) >= share for key, share in minimum.items())


def audience_matches(targeting: Targeting, trigger: Trigger) -> bool:
    """Audience and loyalty criteria; a trigger that cannot show a criterion does not meet it."""
    if targeting.wants_audience:
        if not isinstance(trigger, AudienceTrigger):
            return False
        if not (
            _at_least(trigger.count, targeting.min_count)
            and _shares_met(trigger.age_bands, targeting.age_bands)
            and _shares_met(trigger.gender, targeting.gender)
            and _at_least(trigger.dwell_s, targeting.min_dwell_s)
            and _at_least(trigger.attention_s, targeting.min_attention_s)
        ):
            return False
    if targeting.loyalty_segments:
        return isinstance(trigger, LoyaltyTrigger) and trigger.segment in targeting.loyalty_segments
    return True


def under_frequency_cap(
    campaign: CampaignInfo, players_in_zone: Sequence[str], pacing: Pacing
) -> bool:
    cap = campaign.frequency_cap_per_hour
    if cap is None:
        return True
    return all(pacing.plays_last_hour.get((campaign.id, p), 0) < cap for p in players_in_zone)


def within_share_of_voice(campaign: CampaignInfo, pacing: Pacing) -> bool:
    """wins / opportunities <= share of voice (a share of 0 never plays)."""
    if campaign.share_of_voice <= 0:
        return False
    if campaign.share_of_voice >= 1 or pacing.opportunities <= 0:
        return True
    return pacing.wins.get(campaign.id, 0) / pacing.opportunities <= campaign.share_of_voice


def ineligibility(
    campaign: CampaignInfo,
    trigger: Trigger,
    players_in_zone: Sequence[str],
    pacing: Pacing,
    now: datetime,
    local: datetime,
    zone_kind: str | None = None,
) -> str | None:
    """Why `campaign` cannot take this trigger, or None when it can. `zone_kind`: the kind
    of the trigger's zone (None: not known, so a campaign aimed at zone kinds does not match)."""
    targeting = campaign.targeting
    checks = (
        (campaign.starts_at <= now < campaign.ends_at, "not in flight"),
        (bool(campaign.creatives), "has no creatives"),
        (targeting.covers_zone(trigger.zone, zone_kind), "other zones"),
        (not targeting.triggers or trigger.kind in targeting.triggers, "other trigger kinds"),
        (is_active_local(targeting.schedule, local), "outside its dayparts/weekdays"),
        (audience_matches(targeting, trigger), "audience/loyalty criteria not met"),
        (under_frequency_cap(campaign, players_in_zone, pacing), "frequency cap reached"),
        (within_share_of_voice(campaign, pacing), "share of voice reached"),
    )
    return next((reason for passed, reason in checks if not passed), None)


def _delivered_share(campaign: CampaignInfo, pacing: Pacing) -> float:
    return pacing.wins.get(campaign.id, 0) / campaign.share_of_voice


def _conflict_order(campaign: CampaignInfo, pacing: Pacing) -> tuple[int, float, int]:
    return (-campaign.priority, _delivered_share(campaign, pacing), campaign.id)


def pick_creative(campaign: CampaignInfo, pacing: Pacing) -> CreativeInfo:
    """Creatives take turns: the n-th win of a campaign shows creative n mod count (by id)."""
    creatives = sorted(campaign.creatives, key=lambda c: c.id)
    return creatives[pacing.wins.get(campaign.id, 0) % len(creatives)]


def decide(
    trigger: Trigger,
    campaigns: Sequence[CampaignInfo],
    players_in_zone: Sequence[str],
    pacing: Pacing,
    now: datetime,
    tz: str,
    default_ttl_s: float,
    promo_slide_priority: int = 40,
    zone_kind: str | None = None,
) -> Decision | None:
    """What the zone's players should show for `trigger`, or None when nothing matches.
    `campaigns` are those running in this store (`CampaignSnapshot` leaves out the chain
    campaigns of other stores); `zone_kind` is the kind of the trigger's zone."""
    if now.tzinfo is None:
        raise ValueError(f"now must be an aware datetime, got naive {now!r}")
    local = now.astimezone(store_zone(tz))
    eligible = [
        c
        for c in campaigns
        if ineligibility(c, trigger, players_in_zone, pacing, now, local, zone_kind) is None
    ]
    if eligible:
        winner = min(eligible, key=lambda c: _conflict_order(c, pacing))
        creative = pick_creative(winner, pacing)
        return Decision(
            campaign_id=winner.id,
            creative=creative,
            kind="campaign",
            priority=winner.priority,
            ttl_s=max(default_ttl_s, creative.duration_s),
            zone=trigger.zone,
            gtin=creative.gtin,
            reason=(
                f"campaign {winner.id} {winner.name!r} won {trigger.kind} trigger from "
                f"{trigger.sensor}: priority {winner.priority}, {len(eligible)} eligible"
            ),
        )
    if isinstance(trigger, ZoneTrigger) and trigger.event == "pickup" and trigger.gtin:
        return Decision(
            campaign_id=None,
            creative=None,
            kind="promo_slide",
            priority=promo_slide_priority,
            ttl_s=default_ttl_s,
            zone=trigger.zone,
            gtin=trigger.gtin,
            reason=f"pickup of {trigger.gtin} with no eligible campaign: its promo slide",
        )
    return None
