"""Interface text through gettext catalogues (Babel).

Message ids are English, in the code (``_("...")``, ``N_("...")``) and the templates
(``{{ _("...") }}``). zh-CN is the default language; its catalogue is
``locale/zh_CN/LC_MESSAGES/messages.po``, compiled in memory when first used (no binary
``.mo`` in the repository). English needs no catalogue: a message id is its own English
text. Update the catalogue with ``scripts/i18n.sh`` after changing interface text; a test
fails when a message has no Chinese translation.

The language of the request being served is held in a context variable, so the same
``gettext`` serves templates and Python code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kaohe.i18n import DOMAIN, LANGUAGES, catalogue_path, translations
from kaohe.text import N_, Term, Terms, Text

__all__ = ["DEFAULT", "DOMAIN", "LANGUAGES", "N_", "Text", "catalogue_path", "gettext",
           "language", "ngettext", "translate", "translations", "using"]

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


_ = gettext


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
