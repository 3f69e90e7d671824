"""Interface text through gettext catalogues (Babel): the web app's view of :mod:`kaohe.i18n`.

Message ids are English, in the code (``_("...")``, ``N_("...")``) and the templates
(``{{ _("...") }}``). zh-CN is the default language. The language of the request being
served is held in a context variable (in :mod:`kaohe.i18n`), so the same ``gettext`` serves
templates and Python code, in the web app and in the services it calls.
"""

from __future__ import annotations

from kaohe.i18n import (
    DEFAULT,
    DOMAIN,
    LANGUAGES,
    catalogue_path,
    gettext,
    language,
    ngettext,
    translate,
    translations,
    using,
)
from kaohe.text import N_, Text

__all__ = ["DEFAULT", "DOMAIN", "LANGUAGES", "N_", "Text", "catalogue_path", "gettext",
           "language", "ngettext", "translate", "translations", "using"]

_ = gettext
