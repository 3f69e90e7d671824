"""Settings: every one documented in the README, read from KAOHE_* variables, refused with the
variable's name when wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kaohe.errors import KaoheError
from kaohe.settings import Settings, settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text("utf-8")
    missing = [name for name in Settings.model_fields if f"`KAOHE_{name.upper()}`" not in text]
    assert not missing, f"settings missing from the README's table: {missing}"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("KAOHE_TIME_ZONE", "Asia/Urumqi")
    monkeypatch.setenv("KAOHE_MAX_ROWS", "10")
    monkeypatch.setenv("KAOHE_EXTRA_HOLIDAYS", '["2026-10-09"]')
    monkeypatch.setenv("KAOHE_DATA_DIR", str(tmp_path))
    conf = Settings()
    assert conf.zone.key == "Asia/Urumqi" and conf.max_rows == 10
    assert conf.extra_holidays == frozenset({dt.date(2026, 10, 9)})
    assert conf.data_path() == tmp_path
    assert Settings(time_zone="Asia/Shanghai").zone.key == "Asia/Shanghai"
    # a stored (naive UTC) time as people in Beijing read it
    shown = Settings(time_zone="Asia/Shanghai").local(dt.datetime(2026, 11, 30, 18, 30))
    assert (shown.date(), shown.hour, shown.minute) == (dt.date(2026, 12, 1), 2, 30)


def test_a_wrong_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAOHE_TIME_ZONE", "Mars/Olympus")
    monkeypatch.setenv("KAOHE_MAX_ROWS", "many")
    settings.cache_clear()
    try:
        with pytest.raises(KaoheError, match=r"KAOHE_TIME_ZONE: 'Mars/Olympus' is not a time "
                                             r"zone.*KAOHE_MAX_ROWS"):
            settings()
    finally:
        settings.cache_clear()


def test_company_days_change_the_working_days(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaohe.workflow.calendar import add_workdays

    start = dt.date(2026, 11, 2)  # a Monday
    assert add_workdays(start, 1).due == dt.date(2026, 11, 3)
    monkeypatch.setenv("KAOHE_EXTRA_HOLIDAYS", '["2026-11-03"]')
    monkeypatch.setenv("KAOHE_EXTRA_WORKDAYS", '["2026-11-07"]')
    settings.cache_clear()
    try:
        assert add_workdays(start, 1).due == dt.date(2026, 11, 4)
        assert add_workdays(dt.date(2026, 11, 6), 1).due == dt.date(2026, 11, 7)
    finally:
        settings.cache_clear()
