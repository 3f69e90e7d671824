"""Interface text in zh-CN (default) and English. The language is chosen with ?lang=en|zh
and remembered in a cookie."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "app": {"zh": "考核", "en": "kaohe"},
    "login": {"zh": "登录", "en": "Log in"},
    "logout": {"zh": "退出", "en": "Log out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "bad_login": {"zh": "用户名或密码错误", "en": "Wrong username or password"},
    "throttled": {"zh": "尝试次数过多，请稍后再试", "en": "Too many attempts; try again later"},
    "my_results": {"zh": "我的考核", "en": "My appraisals"},
    "team_board": {"zh": "团队看板", "en": "Team board"},
    "period": {"zh": "考核周期", "en": "Period"},
    "scheme": {"zh": "考核方案", "en": "Scheme"},
    "state": {"zh": "状态", "en": "State"},
    "total": {"zh": "总分", "en": "Total"},
    "grade": {"zh": "等级", "en": "Grade"},
    "rank": {"zh": "名次", "en": "Rank"},
    "pay": {"zh": "应发", "en": "Pay"},
    "indicator": {"zh": "考核指标", "en": "Indicator"},
    "points": {"zh": "得分", "en": "Points"},
    "reason": {"zh": "理由", "en": "Reason"},
    "flags": {"zh": "标记", "en": "Flags"},
    "employee": {"zh": "员工", "en": "Employee"},
    "team": {"zh": "团队", "en": "Team"},
    "not_scored": {"zh": "尚未评分", "en": "Not scored yet"},
    "nothing": {"zh": "暂无记录", "en": "Nothing yet"},
    "language": {"zh": "English", "en": "中文"},
}


def t(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["zh"]
