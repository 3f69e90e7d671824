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
    "self_review": {"zh": "自评", "en": "Self-review"},
    "submit": {"zh": "提交", "en": "Submit"},
    "acknowledge": {"zh": "确认结果", "en": "Acknowledge"},
    "appeal": {"zh": "申诉", "en": "Appeal"},
    "appeals": {"zh": "申诉处理", "en": "Appeals"},
    "appeal_due": {"zh": "申诉截止", "en": "Appeal by"},
    "rating": {"zh": "评分", "en": "Rating"},
    "incident": {"zh": "事件记录", "en": "Incidents"},
    "note": {"zh": "说明", "en": "Note"},
    "add": {"zh": "添加", "en": "Add"},
    "submit_review": {"zh": "主管评分完成", "en": "Finish review"},
    "approve": {"zh": "审批通过", "en": "Approve"},
    "cycles": {"zh": "考核周期", "en": "Cycles"},
    "appraisals": {"zh": "考核单", "en": "Appraisals"},
    "appraisal": {"zh": "考核单", "en": "Appraisal"},
    "score": {"zh": "评分", "en": "Score"},
    "submit_self_review": {"zh": "自评完成", "en": "Self-reviews done"},
    "submit_supervisor_review": {"zh": "主管评分完成", "en": "Supervisor reviews done"},
    "approve_second_review": {"zh": "复核通过", "en": "Second review done"},
    "publish": {"zh": "发布", "en": "Publish"},
    "close": {"zh": "归档", "en": "Close"},
    "payroll": {"zh": "工资表", "en": "Payroll"},
    "answer_by": {"zh": "受理截止", "en": "answer by"},
    "resolve_by": {"zh": "处理截止", "en": "resolve by"},
    "accept": {"zh": "受理", "en": "Accept"},
    "reject": {"zh": "不予受理", "en": "Reject"},
    "resolution": {"zh": "处理结果", "en": "Resolution"},
    "resolve": {"zh": "处理完毕", "en": "Resolve"},
    "overdue": {"zh": "逾期事项", "en": "Overdue"},
    "appeal_decision": {"zh": "申诉待受理", "en": "Appeal to answer"},
    "appeal_resolution": {"zh": "申诉待处理", "en": "Appeal to resolve"},
    "feedback_meeting": {"zh": "待面谈", "en": "Feedback meeting due"},
    "hr_console": {"zh": "HR 控制台", "en": "HR console"},
    "late": {"zh": "待完成", "en": "Waiting"},
}


def t(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["zh"]
