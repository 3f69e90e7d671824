"""Errors of the process layer; each carries the HTTP status the web app answers with."""

from __future__ import annotations

from kaohe.errors import KaoheError


class WorkflowError(KaoheError):
    status = 409


class NotAllowed(WorkflowError):
    """The actor's role does not allow this action. Rendered as 404 for records the actor
    may not see at all (the web layer decides), 403 otherwise."""

    status = 403


class NotFound(WorkflowError):
    status = 404


class Conflict(WorkflowError):
    """Somebody else saved the same record first (optimistic locking)."""

    status = 409


class Invalid(WorkflowError):
    status = 422
