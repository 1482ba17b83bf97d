"""What the signage service needs from proof-of-play storage: a typed seam, not an import.

The service hears proof of play from the players; storing, chaining and billing it belongs to
ads (`ads.ingest.PlayIngestor`), which depends on signage's wire contract. The worker hands
the service its store, so signage never names ads and the two packages stay acyclic.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Protocol

from sqlmodel import Session

from esl_controller.signage import protocol


class PlayTally(Protocol):
    """How a batch of plays went: counted into the service's stats."""

    @property
    def accepted(self) -> int: ...

    @property
    def duplicates(self) -> int: ...

    @property
    def rejected(self) -> Sized: ...


class PlayStore(Protocol):
    def lock_chain(self, session: Session) -> None:
        """Serialise writers of the impression chain; the first statement of the transaction."""
        ...

    def ingest_in(
        self,
        session: Session,
        raw_plays: Sequence[protocol.Play],
        source: str,
        *,
        authenticated_player: str | None = None,
    ) -> PlayTally:
        """Store a batch of plays in the caller's transaction. `authenticated_player`: the
        player the transport authenticated (topic or credential), whose plays alone count."""
        ...
