"""The app as each uvicorn worker process imports it (``kaohe serve --workers N``): the
database from ``KAOHE_DATABASE_URL`` (else the default SQLite file), the session key from
``KAOHE_SECRET_KEY`` or the data directory, Secure cookies when ``KAOHE_HTTPS=1`` (see
:mod:`kaohe.settings`)."""

from __future__ import annotations

from kaohe.settings import settings
from kaohe.web.app import create_app

app = create_app(https=settings().https)
