"""Marshmallow fields that refuse what the database cannot hold, with a 400 saying why.

Every API schema takes its integers and date-times from here. A Python int has no upper
bound but SQLite's and PostgreSQL's BIGINT stop at 64 bits, so an id or offset beyond that
used to reach the driver and come back as a 500; a date-time in year 1 with an offset
could not even be converted to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Wide enough for any flight or report period, narrow enough for every database and for
# offsets to stay convertible to UTC.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
# Only the calendar form: Python's date.fromisoformat also takes 20261201 and 2026-W49-1.
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class BoundedInteger(fields.Integer):
    """An integer within [minimum, maximum], by default the 64-bit range.

    The bounds are a Range validator, so the OpenAPI document states them too."""

    def __init__(
        self, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX, **kwargs: Any
    ) -> None:
        if not INT64_MIN <= minimum <= maximum <= INT64_MAX:
            raise ValueError(f"bounds {minimum}..{maximum} are not within 64 bits")
        extra = kwargs.pop("validate", None)
        validators: list[Any] = [validate.Range(minimum, maximum)]
        if extra is not None:
            validators.extend(extra if isinstance(extra, list | tuple) else [extra])
        super().__init__(validate=validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _validated(self, value: Any) -> int:
        # Before int(): a 5,000-digit string would otherwise raise ValueError deep inside.
        if isinstance(value, str) and len(value.strip().lstrip("+-").lstrip("0")) > 19:
            raise self._bounds_error()
        return super()._validated(value)

    def _bounds_error(self) -> ValidationError:
        return ValidationError(f"Must be a whole number from {self.minimum} to {self.maximum}.")


class BoundedAwareDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with its offset, between 1970 and 2199 (UTC)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "description": "ISO 8601 with an offset, e.g. 2026-11-01T08:00:00+02:00",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_range = EARLIEST <= parsed.astimezone(UTC) <= LATEST
        except OverflowError:
            in_range = False
        if not in_range:
            raise ValidationError(
                f"Must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)."
            )
        return parsed


class BoundedDate(fields.Date):
    """A calendar date written YYYY-MM-DD, between 1970 and 2199 (the pattern is stated in
    the OpenAPI document too)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": DATE_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
            raise ValidationError("Must be a date written YYYY-MM-DD.")
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST.date() <= parsed <= LATEST.date():
            raise ValidationError(f"Must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.")
        return parsed
