"""The words a label prints, from gettext catalogues per store locale.

Catalogues are the `.po` files under `labels/locales/<language>/LC_MESSAGES/labels.po`; their
message ids are the English words the templates and the content builder use ("In stock",
"until {date}"). Babel reads a `.po` and compiles it in memory the first time a locale is
asked for, so neither an editable install nor a wheel needs a build step and a catalogue can
never be stale against its source. A message a catalogue lacks prints in English, and a
locale without a catalogue prints English throughout.

The renderer and the content builder take a `LabelWords` (or look one up by the content's
locale): they read no process-wide language setting.
"""

from __future__ import annotations

import gettext
import hashlib
import io
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOGUE_DIR = Path(__file__).parent / "locales"
DOMAIN = "labels"
UNIT_CONTEXT = "unit"  # msgctxt of the unit words ("piece" -> "buc.")


class LabelWords:
    """One locale's label words: `gettext`, `pgettext`, dates, and a digest of the catalogue."""

    def __init__(self, locale: str, translations: gettext.NullTranslations, digest: str) -> None:
        self.locale = locale
        self._translations = translations
        self.digest = digest  # changes whenever the catalogue's words do (content fingerprints)

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        return self._translations.pgettext(context, message)

    def date(self, day: date, strftime_format: str = "") -> str:
        """`day` as the template asks (`strftime_format`) or else the locale's short date."""
        if strftime_format:
            return day.strftime(strftime_format)
        return format_date(day, "short", locale=_babel_locale(self.locale))

    def __repr__(self) -> str:
        return f"LabelWords({self.locale!r})"


def catalogue_path(language: str, catalogue_dir: Path | None = None) -> Path:
    return (catalogue_dir or CATALOGUE_DIR) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages(catalogue_dir: Path | None = None) -> tuple[str, ...]:
    """Languages with a label catalogue ("de", "ro", ...), English included."""
    root = catalogue_dir or CATALOGUE_DIR
    found = {path.parent.parent.name for path in root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {"en"}))


@lru_cache(maxsize=64)
def label_words(locale: str, catalogue_dir: Path | None = None) -> LabelWords:
    """The words for a store locale ("ro_RO"): its own catalogue, its language's, or English."""
    for candidate in (locale, locale.split("_")[0]):
        path = catalogue_path(candidate, catalogue_dir)
        if path.is_file():
            translations, digest = _compile(path, candidate)
            return LabelWords(locale, translations, digest)
    return LabelWords(locale, gettext.NullTranslations(), "en")


def _compile(path: Path, language: str) -> tuple[gettext.GNUTranslations, str]:
    source = path.read_bytes()
    catalog = read_po(io.BytesIO(source), locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is unreviewed: English instead
    compiled.seek(0)
    return gettext.GNUTranslations(compiled), hashlib.sha256(source).hexdigest()[:16]


@lru_cache(maxsize=64)
def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")
