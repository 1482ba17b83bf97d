"""The kind of a zone: what chain campaigns aim at (`dairy` in every store), set by a person.

A zone gets the slug of its name as its kind, but zones created on the fly are named by
their id ("buc-north-dairy"), and stores may name the same aisle differently ("Lactate",
"Dairy"): a person gives such a zone the kind the chain uses, so a campaign aimed at
`dairy` reaches it. The players page and `esl-controller zone kind` both write here.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from esl_controller import audit
from esl_controller.models import Zone

KIND_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_KIND_LENGTH = 64


class ZoneKindError(ValueError):
    """A zone kind that cannot be set, in words a store worker understands."""


def set_zone_kind(session: Session, zone_id: str, kind: str, *, actor: str) -> Zone:
    """Give the zone `kind` (audited as `zone.kind` with before and after)."""
    if len(kind) > MAX_KIND_LENGTH or not KIND_PATTERN.fullmatch(kind):
        raise ZoneKindError(
            f"a zone kind is lower-case letters and digits joined by single dashes, at most "
            f"{MAX_KIND_LENGTH} characters (such as dairy or fresh-produce), not {kind!r}"
        )
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise ZoneKindError(f"there is no zone {zone_id!r}")
    before = zone.kind
    zone.kind = kind
    session.add(zone)
    audit.record(
        session,
        actor=actor,
        action="zone.kind",
        target=f"zone:{zone_id}",
        detail={"before": before, "after": kind},
    )
    return zone
