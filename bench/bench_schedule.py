"""Schedule resolution and targeting decisions: the pure core's cost per pass.

Part 1: `resolve()` for 500 players in 25 zones against 40 playlists (dayparts, weekdays,
date ranges, some crossing midnight), at random instants over a year in Europe/Bucharest
(DST days included). Part 2: `decide()` over 200 campaigns for 1,000 random triggers
(audience, zone pick-ups, loyalty). Prints mean and p99 milliseconds per pass.

    python bench/bench_schedule.py                  # defaults above
    python bench/bench_schedule.py --passes 400 --triggers 5000
Target: a full resolution pass under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.signage.playlists import Playlist, PlaylistItem, Schedule, parse_daypart
from esl_controller.signage.schedule import PlayerSpot, resolve
from esl_controller.signage.targeting import (
    CampaignInfo,
    CreativeInfo,
    Pacing,
    decide,
    parse_targeting,
)
from esl_controller.signage.triggers import (
    AGE_BANDS,
    AudienceTrigger,
    LoyaltyTrigger,
    Trigger,
    ZoneTrigger,
)

TZ = "Europe/Bucharest"
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYPARTS = ("06:00-11:00", "11:00-14:00", "17:00-20:00", "22:00-02:00", "20:00-06:00")
SEGMENTS = ("coffee-lovers", "families", "students", "wine")


def random_playlists(rng: random.Random, count: int, zones: list[str]) -> list[Playlist]:
    playlists = []
    for index in range(count):
        dayparts = tuple(parse_daypart(d) for d in rng.sample(DAYPARTS, rng.randint(0, 2)))
        start = (START + timedelta(days=rng.randint(0, 300))).date()
        dated = rng.random() < 0.3
        schedule = Schedule(
            weekdays=frozenset(rng.sample(range(7), rng.randint(5, 7)))
            if index % 3
            else frozenset(),
            dayparts=dayparts,
            date_from=start if dated else None,
            date_to=start + timedelta(days=rng.randint(7, 60)) if dated else None,
        )
        items = tuple(
            PlaylistItem(id=f"i{n}", type="image", duration_s=8, media_sha256=f"{n:064x}")
            for n in range(rng.randint(2, 10))
        )
        playlists.append(
            Playlist(
                name=f"playlist-{index:02d}",
                title=f"Playlist {index}",
                priority=rng.choice((0, 5, 10, 20)),
                zones=frozenset(rng.sample(zones, rng.randint(1, 4))),
                players=frozenset({f"player-{rng.randrange(500):03d}"})
                if index % 5 == 0
                else frozenset(),
                schedule=schedule,
                items=items,
            )
        )
    return playlists


def random_campaigns(rng: random.Random, count: int, zones: list[str]) -> list[CampaignInfo]:
    campaigns = []
    for cid in range(1, count + 1):
        targeting: dict = {"zones": rng.sample(zones, rng.randint(0, 3))}
        if rng.random() < 0.5:
            targeting["dayparts"] = rng.sample(DAYPARTS, 1)
        if rng.random() < 0.5:
            targeting["audience"] = {
                "min_count": rng.randint(1, 5),
                "age_bands": {rng.choice(AGE_BANDS): round(rng.random() * 0.4, 2)},
            }
        if rng.random() < 0.2:
            targeting["loyalty_segments"] = rng.sample(SEGMENTS, 1)
        starts = START + timedelta(days=rng.randint(0, 200))
        campaigns.append(
            CampaignInfo(
                id=cid,
                name=f"campaign {cid}",
                advertiser=f"advertiser {cid % 20}",
                priority=rng.choice((10, 30, 50, 70)),
                starts_at=starts,
                ends_at=starts + timedelta(days=rng.randint(30, 200)),
                targeting=parse_targeting(json.dumps(targeting)),
                frequency_cap_per_hour=rng.choice((None, 4, 12)),
                share_of_voice=rng.choice((0.1, 0.25, 0.5, 1.0)),
                creatives=tuple(
                    CreativeInfo(cid * 10 + n, f"c{n}", "image", 10, f"{n:064x}")
                    for n in range(rng.randint(1, 3))
                ),
            )
        )
    return campaigns


def random_trigger(rng: random.Random, zones: list[str], at: datetime) -> Trigger:
    zone, roll = rng.choice(zones), rng.random()
    if roll < 0.6:
        shares = [rng.random() for _ in AGE_BANDS]
        total = sum(shares)
        return AudienceTrigger(
            "cam",
            zone,
            at,
            rng.randint(0, 8),
            {band: share / total for band, share in zip(AGE_BANDS, shares, strict=True)},
            {"female": 0.5, "male": 0.5},
            rng.random() * 30,
            rng.random() * 10,
        )
    if roll < 0.85:
        body = f"594{rng.randrange(10**9):09d}"
        return ZoneTrigger("shelf", zone, at, "pickup", body + str(gtin_check_digit(body)))
    return LoyaltyTrigger("app", zone, at, "ab" * 16, rng.choice(SEGMENTS))


def report(label: str, samples_ms: list[float]) -> None:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{label}: mean {statistics.fmean(ordered):.3f} ms, p99 {p99:.3f} ms "
        f"({len(ordered)} passes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=500)
    parser.add_argument("--zones", type=int, default=25)
    parser.add_argument("--playlists", type=int, default=40)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(4)
    zones = [f"zone-{z:02d}" for z in range(args.zones)]
    players = [PlayerSpot(f"player-{p:03d}", zones[p % len(zones)]) for p in range(args.players)]
    playlists = random_playlists(rng, args.playlists, zones)
    campaigns = random_campaigns(rng, args.campaigns, zones)
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )

    resolve_ms = []
    for _ in range(args.passes):
        now = START + timedelta(seconds=rng.randrange(365 * 86400))
        began = time.perf_counter()
        resolved = resolve(playlists, players, now, TZ)
        resolve_ms.append((time.perf_counter() - began) * 1000)
    assert len(resolved) == args.players
    report(
        f"resolve: {args.players} players, {args.zones} zones, {args.playlists} playlists",
        resolve_ms,
    )

    decide_ms, decided = [], 0
    pacing = Pacing()
    zone_players = {z: [p.id for p in players if p.zone_id == z] for z in zones}
    for _ in range(args.triggers):
        now = START + timedelta(seconds=rng.randrange(365 * 86400))
        trigger = random_trigger(rng, zones, now)
        began = time.perf_counter()
        decision = decide(trigger, campaigns, zone_players[trigger.zone], pacing, now, TZ, 30)
        decide_ms.append((time.perf_counter() - began) * 1000)
        pacing.opportunities += 1
        if decision and decision.campaign_id is not None:
            decided += 1
            pacing.wins[decision.campaign_id] = pacing.wins.get(decision.campaign_id, 0) + 1
    report(
        f"decide: {args.campaigns} campaigns, {args.triggers} triggers "
        f"({decided} won by a campaign)",
        decide_ms,
    )


if __name__ == "__main__":
    main()
