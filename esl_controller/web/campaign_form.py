"""The campaign form's values and its refusals in plain words.

A refused form is shown again with every value as it was typed, and each problem as one
sentence next to its field: the schema's field names (`share_of_voice`, `targeting`) and its
message structures mean nothing to a store manager.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from esl_controller.signage.targeting import AGE_BANDS, GENDERS, parse_targeting
from esl_controller.web.i18n import N_, ngettext_
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.schemas import MAX_CPM

TEXT_FIELDS = (
    "advertiser_id", "name", "starts_at", "ends_at", "cpm", "currency", "priority",
    "frequency_cap_per_hour", "share_of_voice", "dayparts", "min_count", "min_dwell_s",
    "min_attention_s", "loyalty_segments",
    *(f"age_{band}" for band in AGE_BANDS), *(f"gender_{gender}" for gender in GENDERS),
)  # fmt: skip
LIST_FIELDS = ("stores", "zone_kinds", "zones", "weekdays", "triggers")
SHOWN_FIELDS = frozenset({*TEXT_FIELDS, *LIST_FIELDS, "age", "gender"})

SENTENCES = {
    "advertiser_id": N_("Choose the advertiser this campaign is for."),
    "name": N_("Give the campaign a name (up to 200 characters)."),
    "starts_at": N_("Enter the date and time the campaign starts."),
    "ends_at": N_("Enter the date and time the campaign ends."),
    "cpm": N_(
        "Enter the price per 1,000 impressions as an amount such as 4.50 (at most %(max_cpm)s)."
    ),
    "currency": N_("Enter the currency as its three-letter code, such as EUR or RON."),
    "priority": N_("The priority is a whole number from 0 (lowest) to 100 (highest)."),
    "frequency_cap_per_hour": N_(
        "The frequency cap is a whole number of plays per screen per hour, 1 or more; "
        "leave it empty for no cap."
    ),
    "share_of_voice": N_(
        "The share of voice is a number above 0 and at most 1 (0.25 means a quarter of the plays)."
    ),
    "stores": N_("Choose the stores from the list; leave it empty for every store."),
    "zone_kinds": N_("Choose zone kinds from the list: only kinds of zones in the chosen stores."),
    "zones": N_("Choose the zones from the list."),
    "dayparts": N_("Enter dayparts as store times such as 07:00-10:00, separated by commas."),
    "weekdays": N_("Tick the weekdays the campaign plays on."),
    "triggers": N_("Tick the triggers from the list."),
    "loyalty_segments": N_("Enter loyalty segments as names separated by commas."),
    "min_count": N_("The minimum audience is a whole number of people, 0 or more."),
    "min_dwell_s": N_("The minimum dwell is a number of seconds, 0 or more."),
    "min_attention_s": N_("The minimum attention is a number of seconds, 0 or more."),
    "age": N_("Each age band share is a number from 0 to 1, such as 0.3."),
    "gender": N_("Each gender share is a number from 0 to 1, such as 0.5."),
}
FALLBACK = N_("This value cannot be used; check it and try again.")
_TARGETING_PATH = re.compile(r"^targeting\.(?P<path>[^:]+): ")
_AUDIENCE_FIELDS = {"min_count", "min_dwell_s", "min_attention_s"}


def typed_values(form: MultiDict) -> dict[str, Any]:
    """What the person typed, to show again as it was."""
    values: dict[str, Any] = {key: form.get(key, "") for key in TEXT_FIELDS}
    values.update({key: form.getlist(key) for key in LIST_FIELDS})
    return values


def campaign_values(detail: Mapping[str, Any] | None, local: Mapping[str, str]) -> dict[str, Any]:
    """A saved campaign (or a new one) in the form's terms; times already store-local."""
    values: dict[str, Any] = {key: "" for key in TEXT_FIELDS}
    values.update({key: [] for key in LIST_FIELDS})
    if detail is None:
        values.update(currency="EUR", priority="50", share_of_voice="1")
        return values
    targeting = detail.get("targeting") or {}
    audience = targeting.get("audience") or {}
    values.update(
        advertiser_id=str(detail["advertiser_id"]),
        name=detail["name"],
        starts_at=local.get("starts_at", ""),
        ends_at=local.get("ends_at", ""),
        cpm=str(detail["cpm"]),
        currency=detail["currency"],
        priority=str(detail["priority"]),
        frequency_cap_per_hour=_text(detail.get("frequency_cap_per_hour")),
        share_of_voice=_text(detail.get("share_of_voice")),
        stores=list(targeting.get("stores") or []),
        zone_kinds=list(targeting.get("zone_kinds") or []),
        zones=list(targeting.get("zones") or []),
        weekdays=[str(day) for day in targeting.get("weekdays") or []],
        triggers=list(targeting.get("triggers") or []),
        dayparts=", ".join(targeting.get("dayparts") or []),
        loyalty_segments=", ".join(targeting.get("loyalty_segments") or []),
        **{key: _text(audience.get(key)) for key in _AUDIENCE_FIELDS},
        **{
            f"age_{band}": _text(share) for band, share in (audience.get("age_bands") or {}).items()
        },
        **{
            f"gender_{name}": _text(share) for name, share in (audience.get("gender") or {}).items()
        },
    )
    return values


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def field_errors(messages: Mapping[str, Any], currency: str = "") -> dict[str, str]:
    """Schema or action messages by field -> one sentence per form field."""
    errors: dict[str, str] = {}
    for field, raw in messages.items():
        text = " ".join(_strings(raw))
        form_field, sentence = _sentence(field, text, currency)
        errors.setdefault(form_field, sentence)
    return errors


def cross_field_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """The flight order and the targeting, checked on the form's values on their own."""
    errors: dict[str, str] = {}
    try:
        starts = datetime.fromisoformat(values["starts_at"])
        ends = datetime.fromisoformat(values["ends_at"])
    except (KeyError, TypeError, ValueError):
        pass
    else:
        if ends <= starts:
            errors.update(field_errors({"ends_at": "the flight must end after it starts"}))
    try:
        parse_targeting(json.dumps(values.get("targeting") or {}))
    except (TypeError, ValueError) as exc:
        errors.update(field_errors({"targeting": str(exc)}))
    return errors


def _strings(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Mapping):
        return [text for value in raw.values() for text in _strings(value)]
    if isinstance(raw, list | tuple):
        return [text for value in raw for text in _strings(value)]
    return [str(raw)]


def _sentence(field: str, text: str, currency: str) -> tuple[str, str]:
    if field == "targeting":
        return _targeting_sentence(text)
    if field == "ends_at" and "end after it starts" in text:
        return field, _("The campaign must end after it starts.")
    if field == "cpm" and "decimals" in text:
        return field, _("Prices in %(currency)s %(rule)s.") % {
            "currency": currency or _("this currency"),
            "rule": _decimals(text),
        }
    if field in ("currency", "advertiser_id") and "billed impressions" in text:
        return field, _(
            "This campaign has already billed impressions, so its advertiser and currency "
            "can no longer change."
        )
    if field in ("stores", "zone_kinds") and text.startswith(("there is no store", "no zone")):
        return field, f"{text[0].upper()}{text[1:]}."  # already in a store worker's words
    if field == "advertiser_id" and "no advertiser" in text:
        return field, _("That advertiser no longer exists; choose another one.")
    return field, _said(SENTENCES.get(field, FALLBACK))


def _said(sentence: str) -> str:
    """A sentence of SENTENCES in the page's language, its limits filled in."""
    return _(sentence) % {"max_cpm": MAX_CPM}


def _decimals(text: str) -> str:
    match = re.search(r"at most (\d+) decimals", text)
    if not match:
        return _("cannot have that many decimals")
    digits = int(match[1])
    if digits == 0:
        return _("are whole amounts, without decimals")
    return ngettext_("have at most %(num)s decimal", "have at most %(num)s decimals", digits) % {
        "num": digits
    }


def _targeting_sentence(text: str) -> tuple[str, str]:
    """`targeting.audience.age_bands.25-34: ...` -> the age field and its sentence."""
    match = _TARGETING_PATH.match(text)
    path = re.sub(r"\[\d+\]", "", match["path"]) if match else ""
    parts = path.split(".")
    if parts[0] == "audience" and len(parts) > 1:
        if parts[1] in _AUDIENCE_FIELDS:
            return parts[1], _said(SENTENCES[parts[1]])
        if parts[1] == "age_bands":
            return (f"age_{parts[2]}" if len(parts) > 2 else "age"), _said(SENTENCES["age"])
        if parts[1] == "gender":
            return (f"gender_{parts[2]}" if len(parts) > 2 else "gender"), _said(
                SENTENCES["gender"]
            )
    if parts[0] in SENTENCES:
        return parts[0], _said(SENTENCES[parts[0]])
    return "targeting", _("The targeting cannot be used; check the zones, times and audience.")
