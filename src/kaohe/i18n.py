"""The gettext catalogues, for any layer that words text for people.

Message ids are English; the zh_CN catalogue is ``web/locale/zh_CN/LC_MESSAGES/messages.po``
(one catalogue for the web pages, the reasons of the engine and the forms), compiled in
memory when first used. English needs no catalogue: a message id is its own English text.
The language being served (a web request's, a CLI command's ``--lang``) is held in a context
variable: :func:`using` sets it, :func:`gettext` and :func:`translate` follow it; code that
renders for a given language may also ask :func:`translations` directly.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from kaohe.text import Term, Terms, Text

__all__ = ["DEFAULT", "DOMAIN", "LANGUAGES", "catalogue_path", "gettext", "language", "ngettext",
           "translate", "translations", "using"]

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


DEFAULT = "zh"

_current: ContextVar[str] = ContextVar("kaohe_lang", default=DEFAULT)


def language() -> str:
    return _current.get()


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Translate into ``lang`` within the block."""
    translations(lang)  # fail early on an unknown language
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def translate(message: object) -> str:
    """A message in the current language: a :class:`~kaohe.text.Text` from the services
    (its template looked up, its parameters filled in, themselves translated), or a plain
    message id; text the catalogue does not know is shown as it is."""
    if isinstance(message, Text):
        template = gettext(message.template)
        if not message.params:
            return template
        params = {k: translate(v) if isinstance(v, (Text, Term, Terms)) else v
                  for k, v in message.params.items()}
        return template % params
    if isinstance(message, Term):
        return gettext(message.label)
    if isinstance(message, Terms):
        return ", ".join(gettext(t.label) for t in message.items)
    return gettext(str(message))
