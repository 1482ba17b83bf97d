"""The dashboard's language and clock: gettext catalogues through Jinja's i18n extension,
times in the store's time zone with the zone named, dates and numbers per locale (Babel).

The language of a request is, in order: the one the user picked (`?lang=` on any page, kept
in the session), the best match for the browser's Accept-Language, the store's locale, and
English. Catalogues are `web/locales/<language>/LC_MESSAGES/dashboard.po`, read and compiled
in memory on first use, as the label catalogues are (labels/words.py).
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_request_context, request, session
from markupsafe import Markup

from esl_controller.models import Store
from esl_controller.web import terms
from esl_controller.web.database import get_session, get_settings

CATALOGUE_DIR = Path(__file__).parent / "locales"
DOMAIN = "dashboard"
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "ro": "Română"}  # each in its own language
SESSION_KEY = "lang"


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: translations().gettext(message),
        lambda singular, plural, n: translations().ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: translations().pgettext(context, message),
    )
    app.before_request(_remember_chosen_language)
    app.add_template_filter(format_moment, "moment")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_term, "term")
    app.add_template_global(ui_language, "ui_language")
    app.add_template_global(store_zone_name, "store_zone_name")
    app.add_template_global(language_choices, "language_choices")


def languages() -> tuple[str, ...]:
    """Dashboard languages with a catalogue, English (the message ids) first."""
    found = sorted(
        path.parent.parent.name for path in CATALOGUE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (DEFAULT_LANGUAGE, *(lang for lang in found if lang != DEFAULT_LANGUAGE))


def _remember_chosen_language() -> None:
    chosen = request.args.get("lang", "")
    if chosen in languages():
        session[SESSION_KEY] = chosen


def ui_language() -> str:
    """This request's dashboard language ("en", "ro")."""
    if "ui_language" not in g:
        g.ui_language = _choose_language()
    return g.ui_language


def _choose_language() -> str:
    available = languages()
    chosen = session.get(SESSION_KEY)
    if chosen in available:
        return chosen
    if request.accept_languages:
        best = request.accept_languages.best_match(available)
        if best:
            return best
        for tag, _quality in request.accept_languages:
            if tag.split("-")[0].lower() in available:
                return tag.split("-")[0].lower()
    store_language = _store().locale.split("_")[0] if _store() else DEFAULT_LANGUAGE
    return store_language if store_language in available else DEFAULT_LANGUAGE


def format_locale() -> Locale:
    """Babel locale for dates and numbers: the store's own when it speaks the UI language,
    else the browser's variant of it (en-US), else the language's default."""
    language = ui_language()
    store = _store()
    candidates = [store.locale] if store else []
    candidates += [tag.replace("-", "_") for tag, _ in request.accept_languages]
    for candidate in candidates:
        if candidate.split("_")[0].lower() == language:
            parsed = _parse_locale(candidate)
            if parsed is not None:
                return parsed
    return _parse_locale(language) or Locale.parse("en_GB")


def translations() -> gettext.NullTranslations:
    # Outside a request (a CLI, a unit test of a message) there is no page language: English.
    if not has_request_context():
        return gettext.NullTranslations()
    return catalogue(ui_language())


@lru_cache(maxsize=16)
def catalogue(language: str, catalogue_dir: Path | None = None) -> gettext.NullTranslations:
    path = (catalogue_dir or CATALOGUE_DIR) / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is unreviewed: English instead
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_(message: str) -> str:
    """A Python-side word (a flash message) in this request's language."""
    return translations().gettext(message)


def N_(message: str) -> str:
    """Marks a word for the catalogue where it is made but not yet shown (an English API
    error a page shows translated, a heading in a table of choices); `_()` translates it."""
    return message


def ngettext_(singular: str, plural: str, count: int) -> str:
    """A Python-side word with a count, in this request's language and plural form
    (Romanian has three: 1 minut, 2 minute, 20 de minute)."""
    return translations().ngettext(singular, plural, count)


def format_term(value: object, context: str) -> str:
    """A stored value (a state, a status, a role) as a word of the page's language; a value
    the catalogue does not know shows as it is."""
    text = "" if value is None else str(value)
    word = terms.KNOWN.get((context, text))
    return text if word is None else translations().pgettext(context, word)


def language_choices() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in languages()]


# --- the store's clock ----------------------------------------------------------------


# app.extensions key of the callable that names the request's store. web.store_scope sets
# it: the store depends on who asks, and who asks is auth's, which speaks through this module.
CURRENT_STORE = "esl.current_store"


def _store() -> Store | None:
    if "ui_store" not in g:
        current = current_app.extensions.get(CURRENT_STORE)
        store_id = current() if current is not None else get_settings().store_id
        g.ui_store = get_session().get(Store, store_id)
    return g.ui_store


def store_zone() -> ZoneInfo:
    """The store's time zone (UTC when the store is not set up or names no real zone)."""
    store = _store()
    try:
        return ZoneInfo(store.timezone) if store else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def store_zone_name() -> str:
    return store_zone().key


def format_moment(moment: datetime | None, zone_name: str | None = None) -> Markup | str:
    """A stored time (UTC; naive means UTC) as the store's wall clock with the zone named:
    "2 Dec 2026, 08:00:00 Europe/Bucharest". The ISO instant rides in a <time> element.
    `zone_name` shows it on another store's clock (the chain page, one row per store)."""
    if moment is None:
        return gettext_("never")
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    zone = store_zone() if zone_name is None else _zone_named(zone_name)
    local = aware.astimezone(zone)
    text = format_datetime(local, "medium", tzinfo=zone, locale=format_locale())
    return Markup('<time datetime="{}">{} {}</time>').format(
        aware.astimezone(UTC).isoformat(), text, zone.key
    )


def format_day(day: date | None) -> str:
    if day is None:
        return ""
    return format_date(day, "medium", locale=format_locale())


def format_number(number: float | int | None, decimals: int | None = None) -> str:
    if number is None:
        return ""
    pattern = None if decimals is None else f"#,##0.{'0' * decimals}" if decimals else "#,##0"
    return format_decimal(number, format=pattern, locale=format_locale())


@lru_cache(maxsize=64)
def _parse_locale(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return None
