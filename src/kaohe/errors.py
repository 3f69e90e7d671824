"""One root for every error kaohe reports to a user.

Each message says what is wrong, where (file, row, column or YAML line and field) and
what was expected. The CLI turns any `KaoheError` into exit status 2 with the message on
stderr and nothing on stdout.
"""

from __future__ import annotations


class KaoheError(Exception):
    """Root of all user-facing errors."""


class SchemeError(KaoheError, ValueError):
    """A scheme file is invalid: the message names the file, line and field."""


class ExprError(SchemeError):
    """A formula does not parse or does not type-check."""


class InputError(KaoheError, ValueError):
    """An input table is invalid: the message names the file, row, column and value."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.detail = message  # without the place: for a table of problems
        where = []
        if file is not None:
            where.append(file)
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ": ".join([", ".join(where)]) if where else ""
        if value is not None:
            message = f"value {shorten(value)}: {message}"
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.file = file
        self.row = row
        self.column = column
        self.value = value


def shorten(value: object, limit: int = 60) -> str:
    """A value as a message shows it: its repr, cut short if long (a 4300-digit number)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}…{text[-8:]} ({len(str(value))} characters)"


class UnknownPresetError(KaoheError, LookupError):
    """No preset has the requested id."""
