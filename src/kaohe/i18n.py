"""The gettext catalogues, for any layer that words text for people.

Message ids are English; the zh_CN catalogue is ``web/locale/zh_CN/LC_MESSAGES/messages.po``
(one catalogue for the web pages, the reasons of the engine and the forms), compiled in
memory when first used. English needs no catalogue: a message id is its own English text.
The web app keeps the request's language in :mod:`kaohe.web.i18n`; code that renders for a
given language asks :func:`translations` directly.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
from pathlib import Path

__all__ = ["DOMAIN", "LANGUAGES", "catalogue_path", "translations"]

#: the languages: the short code (``?lang=``, ``--lang``) → the locale
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DOMAIN = "messages"
_LOCALE = Path(__file__).resolve().parent / "web" / "locale"


def catalogue_path(locale: str = "zh_CN") -> str:
    return str(_LOCALE / locale / "LC_MESSAGES" / f"{DOMAIN}.po")


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of a language (English: the message ids themselves)."""
    locale = LANGUAGES.get(lang)
    if locale is None:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    if locale == "en":
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with open(catalogue_path(locale), "rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)
