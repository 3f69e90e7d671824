"""Messages that can be shown in the user's language.

A :class:`Text` is the English message (it *is* a ``str``: logs, the CLI and tests read it
as before) that also keeps its template and parameters, so the web app can look the template
up in its gettext catalogue and fill in the same parameters. Templates are marked with
:func:`N_` for extraction (``scripts/i18n.sh``); a parameter may itself be a ``Text``.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message template for the catalogue; it is translated where it is shown."""
    return message


class Text(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        obj = super().__new__(cls, template % params if params else template)
        obj.template = template
        obj.params = params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (e.g. to a worker process) intact
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, Any]) -> Text:
    return Text(template, **params)


class Term(str):
    """An identifier shown as itself in English messages (``self_review``), with the label an
    interface shows instead (``N_("self-review")``, translated)."""

    label: str

    def __new__(cls, ident: str, label: str) -> Term:
        obj = super().__new__(cls, ident)
        obj.label = label
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Term, (str(self), self.label))


class Terms(str):
    """Several terms, written ``a, b`` (each shown by its label in an interface)."""

    items: tuple[Term, ...]

    def __new__(cls, items: list[Term]) -> Terms:
        obj = super().__new__(cls, ", ".join(items))
        obj.items = tuple(items)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Terms, (list(self.items),))
