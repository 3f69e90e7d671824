"""The app as each uvicorn worker process imports it (``kaohe serve --workers N``): the
database from ``KAOHE_DATABASE_URL`` (else the default SQLite file), the session key from
``KAOHE_SECRET_KEY`` (which ``kaohe serve`` sets once for all its workers), Secure cookies
when ``KAOHE_HTTPS=1``."""

from __future__ import annotations

import os

from kaohe.web.app import create_app

app = create_app(https=os.environ.get("KAOHE_HTTPS") == "1")
