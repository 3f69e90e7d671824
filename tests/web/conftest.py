from collections.abc import Iterator
from pathlib import Path

import pytest

from kaohe.settings import settings

from ..store.conftest import db  # noqa: F401 - the same fresh database per test


@pytest.fixture(autouse=True, scope="session")
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The web app keeps its session key and staged uploads in the data directory: one of
    the test run's own, not the user's."""
    folder = tmp_path_factory.mktemp("kaohe-data")
    mp = pytest.MonkeyPatch()
    mp.setenv("KAOHE_DATA_DIR", str(folder))
    settings.cache_clear()
    yield folder
    mp.undo()
    settings.cache_clear()
