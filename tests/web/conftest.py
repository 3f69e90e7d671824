from ..store.conftest import db  # noqa: F401 - the same fresh database per test
