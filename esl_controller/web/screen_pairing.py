"""Pairing a browser screen with a player, and taking its credential away again.

An unpaired page asks for a pairing: it gets a short code to show and a claim secret it
keeps to itself. A manager pairs the code with a player (dashboard, API or CLI); the page,
polling with its claim secret, then receives its own credential once: an API token of a
user of role `player` named after the player, so it can only stream its own commands and
post its own plays. `add_with_link` pairs ahead of time, for a screen without a keyboard:
a one-time secret in the link's fragment (never sent in a request line, so no access log
keeps it) is exchanged for the token the same way. Revoking clears the token; the page
falls back to pairing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from esl_controller import audit
from esl_controller.config import Settings
from esl_controller.models import Player, ScreenPairing
from esl_controller.web import signage_actions
from esl_controller.web.auth import PLAYER_ROLE, create_user, find_user, issue_api_token

# No 0/O, 1/I/L, 5/S or 8/B: read off a screen across an aisle, typed on a phone.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ234679"
CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
LINK_TTL = timedelta(days=7)
LINK_PREFIX = "link:"  # pairing rows of one-time links are keyed by the secret's hash


class PairingError(ValueError):
    """The pairing cannot go ahead; the message says why (never echoes a secret)."""


@dataclass(frozen=True)
class NewPairing:
    code: str
    claim: str  # only the page that asked knows it
    expires_at: datetime


@dataclass(frozen=True)
class Credential:
    player: str
    token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper().replace("-", "")


def start(session: Session, now: datetime) -> NewPairing:
    """A fresh code for an unpaired page (expired ones are cleared on the way)."""
    session.execute(delete(ScreenPairing).where(ScreenPairing.expires_at < now))
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.get(ScreenPairing, code) is None:
            break
    claim = secrets.token_urlsafe(24)
    expires_at = now + CODE_TTL
    session.add(ScreenPairing(code=code, claim_hash=_digest(claim), expires_at=expires_at))
    session.flush()
    return NewPairing(code, claim, expires_at)


def _player(
    session: Session, settings: Settings, player_id: str, zone: str, name: str
) -> tuple[Player, bool]:
    player = session.get(Player, player_id)
    if player is None:
        try:
            player = signage_actions.register_player(session, settings, player_id, name, zone)
        except signage_actions.SignageInputError as exc:
            raise PairingError(str(exc)) from None
        return player, True
    if player.store_id != settings.store_id:
        raise PairingError(f"player {player_id!r} is registered in store {player.store_id}")
    if player.archived:
        raise PairingError(f"player {player_id!r} is archived")
    return player, False


def _check_username(session: Session, player_id: str) -> None:
    user = find_user(session, player_id)
    if user is not None and user.role != PLAYER_ROLE:
        raise PairingError(
            f"{player_id!r} is already the name of an account with the role {user.role}, "
            "not a player"
        )


def pair(
    session: Session,
    settings: Settings,
    code: str,
    *,
    player_id: str,
    zone: str,
    name: str,
    actor: str,
    now: datetime,
) -> Player:
    """Give the screen showing `code` to `player_id` (registered on the fly in `zone`)."""
    pairing = session.get(ScreenPairing, normalise_code(code))
    if pairing is None or pairing.claim_hash is None or _aware(pairing.expires_at) < now:
        raise PairingError("no screen shows this code (it may have expired: codes last 10 min)")
    if pairing.player_id is not None:
        raise PairingError("this code is already paired")
    _check_username(session, player_id)
    player, created = _player(session, settings, player_id, zone, name)
    pairing.player_id = player.id
    session.add(pairing)
    audit.record(
        session,
        actor=actor,
        action="player.pair",
        target=f"player:{player.id}",
        store_id=player.store_id,
        detail={"zone": player.zone_id, "name": player.name, "registered": created},
    )
    session.flush()
    return player


def add_with_link(
    session: Session,
    settings: Settings,
    *,
    player_id: str,
    zone: str,
    name: str,
    actor: str,
    now: datetime,
) -> str:
    """Register (or reuse) the player and return the one-time secret of its pairing link."""
    _check_username(session, player_id)
    player, created = _player(session, settings, player_id, zone, name)
    secret = secrets.token_urlsafe(24)
    session.add(
        ScreenPairing(
            code=LINK_PREFIX + _digest(secret)[:40],
            player_id=player.id,
            expires_at=now + LINK_TTL,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="player.add",
        target=f"player:{player.id}",
        store_id=player.store_id,
        detail={"zone": player.zone_id, "name": player.name, "registered": created},
    )
    session.flush()
    return secret


def claim(
    session: Session, now: datetime, *, code: str = "", claim: str = "", link: str = ""
) -> Credential | None:
    """The page's credential once its pairing is paired (None: not yet); given only once."""
    if link:
        pairing = session.get(ScreenPairing, LINK_PREFIX + _digest(link)[:40])
    else:
        pairing = session.get(ScreenPairing, normalise_code(code))
        if pairing is not None and (
            pairing.claim_hash is None
            or not hmac.compare_digest(pairing.claim_hash, _digest(claim))
        ):
            pairing = None
    if pairing is None or _aware(pairing.expires_at) < now:
        raise PairingError("unknown or expired pairing: start again")
    if pairing.player_id is None:
        return None
    player_id = pairing.player_id
    session.delete(pairing)
    if find_user(session, player_id) is None:
        create_user(session, player_id, secrets.token_urlsafe(24), PLAYER_ROLE)
    _check_username(session, player_id)
    token = issue_api_token(session, player_id)
    session.flush()
    return Credential(player_id, token)


def revoke(session: Session, player_id: str, *, actor: str) -> bool:
    """Take the screen's credential away; False when it had none."""
    user = find_user(session, player_id)
    if user is None or user.role != PLAYER_ROLE or user.api_token_hash is None:
        return False
    user.api_token_hash = None
    session.add(user)
    player = session.get(Player, player_id)
    audit.record(
        session,
        actor=actor,
        action="player.revoke",
        target=f"player:{player_id}",
        store_id=player.store_id if player is not None else None,
    )
    session.flush()
    return True


def has_credential(session: Session, player_id: str) -> bool:
    user = find_user(session, player_id)
    return user is not None and user.role == PLAYER_ROLE and user.api_token_hash is not None


def _aware(moment: datetime) -> datetime:
    """SQLite gives stored UTC datetimes back without their zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
