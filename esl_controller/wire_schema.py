"""What every wire payload schema shares (base stations' and players' alike). Pure.

A payload is judged field by field with marshmallow: unknown keys are dropped so newer
devices may report more than this release reads, and numbers are JSON numbers only.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields


class WireMessage(Schema):
    class Meta:
        unknown = EXCLUDE  # forward compatible: newer devices may send more


class StrictFloat(fields.Float):
    """JSON numbers only: no strings, no booleans, no NaN."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._validated(value)
