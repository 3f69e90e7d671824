"""The interface text goes through the gettext catalogue: every message in the code and the
templates has a Chinese translation with the same placeholders, and each request is served
in its own language."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from kaohe.store.db import Database
from kaohe.web import i18n
from kaohe.web.app import create_app

from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared

ROOT = Path(__file__).resolve().parents[2]


def _extracted() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _catalogue() -> dict[str | tuple[str, ...], object]:
    with open(i18n.catalogue_path(), "rb") as fh:
        cat = read_po(fh, locale="zh_CN")
    problems = [(m.id, errs) for m, errs in cat.check()]
    assert not problems, problems  # placeholders agree between msgid and msgstr
    out: dict[str | tuple[str, ...], object] = {}
    for m in cat:
        if m.id:
            assert "fuzzy" not in m.flags, m.id
            out[m.id if isinstance(m.id, str) else tuple(m.id)] = m.string
    return out


def test_every_message_has_a_chinese_translation() -> None:
    extracted = _extracted()
    assert len(extracted) > 100  # the extraction really read the templates and the code
    catalogue = _catalogue()
    missing = sorted(str(m) for m in extracted if m not in catalogue)
    assert not missing, f"run scripts/i18n.sh and translate: {missing}"
    untranslated = sorted(str(m) for m, s in catalogue.items()
                          if not (s if isinstance(s, str) else all(s)))  # type: ignore[arg-type]
    assert not untranslated, untranslated
    stale = sorted(str(m) for m in catalogue if m not in extracted)
    assert not stale, f"messages no longer used: {stale}"


def test_translations_follow_the_language_of_the_request() -> None:
    with i18n.using("zh"):
        assert i18n.gettext("Log in") == "登录"
        assert i18n.ngettext("%(num)d problem; nothing was saved.",
                             "%(num)d problems; nothing was saved.", 3) % {"num": 3} \
            == "发现 3 个问题，未保存任何数据。"
    with i18n.using("en"):
        assert i18n.gettext("Log in") == "Log in"
        assert i18n.ngettext("%(num)d problem; nothing was saved.",
                             "%(num)d problems; nothing was saved.", 1) % {"num": 1} \
            == "1 problem; nothing was saved."
    assert i18n.gettext("Log in") == "登录"  # zh-CN is the default
    with pytest.raises(ValueError, match="unknown language"), i18n.using("fr"):
        pass


def test_pages_in_chinese_by_default_and_english_on_request(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as client:
        page = client.get("/login")
        assert 'lang="zh-CN"' in page.text and "用户名" in page.text
        page = client.get("/login?lang=en")
        assert 'lang="en"' in page.text and "Username" in page.text and "用户名" not in page.text
        assert "English" not in page.text and "中文" in page.text  # the switch offers Chinese
        # the choice is remembered, and reaches text made in Python (an error page here)
        r = client.post("/login", data={"username": "hr", "password": "pw"})
        assert r.status_code == 403 and "Reload the page" in r.text
        client.get("/login?lang=zh")
        r = client.post("/login", data={"username": "hr", "password": "pw"})
        assert r.status_code == 403 and "请刷新页面" in r.text
        assert "登录" in client.get("/login?lang=xx").text  # unknown: the default
        login(client, "e1")
        assert "我的考核" in client.get("/me").text
        assert ">高级<" not in client.get("/me").text  # not before the result is published
        publish(shop)
        # grade names come from the scheme: Chinese, or their label_en (高级 → Senior)
        assert ">高级<" in client.get("/me").text
        me = client.get("/me?lang=en").text
        assert "My appraisals" in me and ">Senior<" in me and "高级" not in me
        card = client.get(f"/appraisals/{ids(shop)['E001']}").text
        assert "Senior" in card and "Points and reasons" in card


def test_times_are_shown_in_beijing_time_in_the_page_language() -> None:
    """Stored UTC, shown in KAOHE_TIME_ZONE (Asia/Shanghai unless set): 22:30 UTC is the
    next morning in Beijing; Chinese pages write dates the Chinese way."""
    import datetime as dt

    from kaohe.localtime import zone
    from kaohe.web import i18n, timefmt

    if zone().key != "Asia/Shanghai":
        pytest.skip("KAOHE_TIME_ZONE is set to another zone")
    late = dt.datetime(2026, 11, 25, 22, 30)  # naive: UTC, as stored
    with i18n.using("zh"):
        assert timefmt.when(late) == "2026年11月26日 06:30"
        assert timefmt.day(dt.date(2026, 12, 3)) == "2026年12月3日"
        assert timefmt.day("2026-12-03") == "2026年12月3日" and timefmt.day(None) == "-"
    with i18n.using("en"):
        assert timefmt.when(late) == "2026-11-26 06:30"
        assert timefmt.day(late) == "2026-11-26"  # a moment's date is Beijing's date
