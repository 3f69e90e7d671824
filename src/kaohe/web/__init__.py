"""The web app (FastAPI): server-rendered pages and a JSON API over the workflow services."""
