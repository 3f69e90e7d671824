"""HR's pages: the cycle console (open a cycle, upload inputs with a preview of every problem
before anything is saved, score, move and publish, overdue list), the appeal desk, exports
(payroll, forms per team) and the scheme editor with its what-if preview."""

from __future__ import annotations

import io
import re
import secrets
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from kaohe.errors import KaoheError
from kaohe.presets import PRESET_IDS
from kaohe.reminders import config as remind_config
from kaohe.reminders import send
from kaohe.reminders.due import beijing_today, due_reminders
from kaohe.reports.forms import safe_name, write_forms
from kaohe.settings import settings
from kaohe.store.models import (
    Appeal,
    AppealState,
    Appraisal,
    Cycle,
    Employee,
    Result,
    SchemeVersion,
)
from kaohe.text import Text
from kaohe.web import appeal_desk, cycle_desk, grid, i18n
from kaohe.web.deps import (
    XLSX,
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    current_user,
    download,
    lang_of,
    render,
    require_hr,
)
from kaohe.workflow import appeals, cycles, states
from kaohe.workflow.payroll import write_payroll
from kaohe.workflow.precheck import IncompleteInputs
from kaohe.workflow.seal import require_intact

router = APIRouter(prefix="/hr")
Csrf = Annotated[str | None, Form()]
UPLOAD_TYPES = (".csv", ".xlsx", ".txt")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _flash(request: Request, message: str) -> None:
    request.session["flash"] = message


# -- the console --------------------------------------------------------------------------
#: overdue lines on one page of the console
LATE_PAGE = 50
LATE_KINDS = ("appeal_decision", "appeal_resolution", "feedback_meeting")


def _late(items: list[appeals.Overdue], team: str | None, kind: str | None,
          page: int) -> dict[str, Any]:
    """What is overdue, grouped per team and kind with counts (oldest due first), and one
    page of the lines of the chosen group (or of all)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for o in items:
        g = groups.setdefault((o.team, o.kind), {"team": o.team, "kind": o.kind, "n": 0,
                                                 "oldest": o.due})
        g["n"] += 1
        g["oldest"] = min(g["oldest"], o.due)
    chosen = [o for o in items if (team is None or o.team == team)
              and (kind is None or o.kind == kind)]
    chosen.sort(key=lambda o: (o.team, LATE_KINDS.index(o.kind), o.due, o.employee))
    pages = max(1, -(-len(chosen) // LATE_PAGE))
    page = min(page, pages)
    return {"groups": [groups[k] for k in sorted(groups, key=lambda k: (
                k[0], LATE_KINDS.index(k[1])))],
            "lines": chosen[(page - 1) * LATE_PAGE:page * LATE_PAGE], "total": len(items),
            "shown": len(chosen), "page": page, "pages": pages, "team": team, "kind": kind}


@router.get("/cycles", response_class=HTMLResponse)
def hr_cycles(request: Request, session: SessionDep, user: UserDep,
              late_team: Annotated[str | None, Query(max_length=64)] = None,
              late_kind: Annotated[str | None, Query(pattern="^(appeal_decision|"
                                                     "appeal_resolution|feedback_meeting)$")]
              = None,
              late_page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    require_hr(user)
    counts: dict[int, dict[str, int]] = {}
    for cid, st, n in session.execute(select(Appraisal.cycle_id, Appraisal.state, func.count())
                                      .group_by(Appraisal.cycle_id, Appraisal.state)):
        counts.setdefault(cid, {})[st.value] = n
    rows = [{"id": c.id, "scheme": c.scheme_id, "period": c.period, "state": c.state.value,
             "counts": counts.get(c.id, {})}
            for c in session.scalars(select(Cycle).order_by(Cycle.period.desc(), Cycle.id))]
    saved = list(session.scalars(select(SchemeVersion).order_by(
        SchemeVersion.scheme_id, SchemeVersion.version.desc())))
    due = [r for r in due_reminders(session, today=beijing_today()) if not r.opted_out]
    return render(request, "hr_cycles.html", user=user, cycles=rows, presets=PRESET_IDS,
                  saved=saved, late=_late(appeals.overdue(session, today=beijing_today()),
                                          late_team, late_kind, late_page),
                  reminders_due=len(due))


#: the button answers within about this long plus one request's timeout; what is left over
#: is recorded as failed and sent by the next run
BUTTON_BUDGET_S = 30.0


@router.post("/reminders")
def hr_send_reminders(request: Request, csrf: Csrf = None) -> Response:
    """Send the reminders due today, as `kaohe remind` does. The sending happens outside the
    request's transaction (the service claims and records in short ones of its own), so a slow
    mail server holds no database lock."""
    db = request.app.state.db
    with db.read() as session:
        user = current_user(request, session)
        check_csrf(request, csrf)
        require_hr(user)
        who = actor(user)
    cfg = getattr(request.app.state, "remind_config", None) or remind_config.load()
    report = send.run(db, cfg, actor=who, today=beijing_today(), lang=lang_of(request),
                      budget_s=BUTTON_BUDGET_S)
    with i18n.using(lang_of(request)):
        _flash(request, send.totals(report))
    return _redirect("/hr/cycles#reminders")


@router.post("/cycles")
def hr_open_cycle(request: Request, session: SessionDep, user: UserDep,
                  scheme: Annotated[str, Form()], period: Annotated[str, Form()],
                  csrf: Csrf = None) -> Response:
    """Open a cycle with a preset (``scheme`` = its id) or a saved version (``v:<id>``)."""
    check_csrf(request, csrf)
    require_hr(user)
    saved = re.fullmatch(r"v:(\d{1,9})", scheme)
    if saved is None and scheme not in PRESET_IDS:
        raise HTTPException(422, f"unknown scheme {scheme!r}")
    cycle = cycles.open_cycle(session, scheme_ref=scheme if saved is None else "",
                              version_id=int(saved.group(1)) if saved else None,
                              period=period.strip(), actor=actor(user))
    return _redirect(f"/hr/cycles/{cycle.id}")


#: the console's buttons (the state tables carry Chinese labels for the CLI and the audit log)
STEP_LABELS = {
    "score": i18n.N_("Score now"),
    "open": i18n.N_("Open"),
    "start_review": i18n.N_("Start the review"),
    "approve": i18n.N_("Approve the cycle"),
    "publish": i18n.N_("Publish the results"),
    "close": i18n.N_("Close the cycle"),
    "submit_self_review": i18n.N_("Close self-review"),
    "submit_supervisor_review": i18n.N_("Close supervisor review"),
    "approve_second_review": i18n.N_("Approve second review"),
    "return_for_review": i18n.N_("Return to the supervisors"),
}


def _steps(cycle: Any, counts: dict[str, int]) -> list[dict[str, str]]:
    """What HR can do next on a cycle, read from the state tables: scoring, the cycle's own
    transitions, and bulk moves of the appraisals waiting in a state."""
    out = []
    if cycle.state.value in ("open", "reviewing"):
        out.append({"step": "score", "label": STEP_LABELS["score"]})
    for t in states.CYCLE.values():  # (steps back are offered apart: cycle_desk)
        if cycle.state.value in t.sources and not t.reverse:
            out.append({"step": t.trigger, "label": STEP_LABELS.get(t.trigger, t.label)})
    for t in states.APPRAISAL.values():
        if not t.bulk or t.reverse:
            continue
        if any(counts.get(s) for s in t.sources):
            out.append({"step": t.trigger, "label": STEP_LABELS.get(t.trigger, t.label),
                        "bulk": "1",
                        "n": str(sum(counts.get(s, 0) for s in t.sources))})
    return out


@router.get("/cycles/{cycle_id}", response_class=HTMLResponse)
def hr_cycle(cycle_id: RecordId, request: Request, session: SessionDep,
             user: UserDep) -> HTMLResponse:
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    counts = {st.value: n for st, n in session.execute(
        select(Appraisal.state, func.count()).where(Appraisal.cycle_id == cycle.id)
        .group_by(Appraisal.state))}
    teams = [t for (t,) in session.execute(select(Appraisal.team_code).distinct().where(
        Appraisal.cycle_id == cycle.id).order_by(Appraisal.team_code))]
    scored = session.scalar(select(func.count()).select_from(Result).join(
        Appraisal, Appraisal.id == Result.appraisal_id).where(
        Appraisal.cycle_id == cycle.id, Result.is_current.is_(True)))
    return render(request, "hr_cycle.html", user=user, cycle=cycle, counts=counts,
                  steps=_steps(cycle, counts), teams=teams, scored=scored,
                  importable=cycle.state.value in ("open", "reviewing"),
                  unrated=grid.cycle_unrated(session, cycle.id),  # 未评分 (web-rate)
                  **cycle_desk.cycle_context(session, cycle))


@router.post("/cycles/{cycle_id}/step/{step}")
def hr_cycle_step(cycle_id: RecordId, step: str, request: Request, session: SessionDep,
                  user: UserDep, csrf: Csrf = None,
                  confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    check_csrf(request, csrf)
    require_hr(user)
    who = actor(user)
    if step != "score" and confirm != "yes":  # every move asks first, with its count
        return _redirect(f"/hr/cycles/{cycle_id}/confirm/{step}")
    if step == "score":
        try:
            n, warnings = cycles.score_cycle(session, cycle_id=cycle_id, actor=who)
        except IncompleteInputs as exc:  # the pre-check's list, by person and team
            return cycle_desk.score_refused(request, user, cycle_id, exc, session)
        _flash(request, i18n.gettext("Scored %(n)s appraisals.") % {"n": n}
               + ("" if not warnings else " " + "; ".join(warnings[:5])))
    elif step in states.CYCLE:
        cycles.cycle_transition(session, cycle_id=cycle_id, trigger=step, actor=who)
    else:
        n = cycles.advance_all(session, cycle_id=cycle_id, trigger=step, actor=who)
        _flash(request, i18n.gettext("%(n)s appraisals moved on.") % {"n": n})
    return _redirect(f"/hr/cycles/{cycle_id}")


# -- uploading inputs: a preview first, then the import -------------------------------------
#: a previewed upload not confirmed within this time is deleted
STAGED_FOR_S = 3600


def upload_folder(app: Any) -> Path:
    """Where previewed uploads wait for their confirmation: ``uploads`` in the data
    directory, shared by the workers (a session outlives a restart, so may its upload)."""
    folder: Path | None = getattr(app.state, "uploads", None)
    if folder is None:
        folder = settings().data_path() / "uploads"
        app.state.uploads = folder
    folder.mkdir(parents=True, exist_ok=True)  # also when removed by a cleaner
    return folder


def _upload_dir(request: Request) -> Path:
    return upload_folder(request.app)


def _sweep(folder: Path, now: float) -> None:
    """Delete the staged uploads nobody confirmed in time."""
    for staged in folder.iterdir():
        try:
            if now - staged.stat().st_mtime > STAGED_FOR_S:
                shutil.rmtree(staged, ignore_errors=True)
        except FileNotFoundError:  # confirmed (and removed) meanwhile
            continue


def sweep_staged(app: Any) -> None:
    """At start-up: the expired uploads of earlier runs go, and so do the folders earlier
    versions staged uploads in (``kaohe-uploads-*`` in the temporary directory)."""
    now = time.time()
    _sweep(upload_folder(app), now)
    for old in Path(tempfile.gettempdir()).glob("kaohe-uploads-*"):
        try:
            if old.is_dir() and now - old.stat().st_mtime > STAGED_FOR_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


def _safe_name(name: str) -> str:
    """The uploaded file's name, made safe as the forms' file names are (its type kept)."""
    p = Path(Path(name or "inputs.csv").name)
    return safe_name(p.stem, 100) + ("." + safe_name(p.suffix, 10) if p.suffix else "")


def _staged(request: Request, token: str) -> Path:
    if not re.fullmatch(r"[\w-]{10,64}", token) or token not in request.session.get(
            "uploads", []):
        raise HTTPException(404, i18n.N_("This upload has expired; upload the file again."))
    files = list((_upload_dir(request) / token).glob("*"))
    if not files:
        raise HTTPException(404, i18n.N_("This upload has expired; upload the file again."))
    return files[0]


def _stage(request: Request, file: UploadFile) -> tuple[str, Path]:
    """An uploaded sheet, checked for type and size (read at most the limit and one byte),
    written to a fresh staging folder: its token and path."""
    name = _safe_name(file.filename or "")
    if not name.lower().endswith(UPLOAD_TYPES):
        raise HTTPException(422, i18n.N_("Upload a .csv or .xlsx file."))
    limit = settings().max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, Text(i18n.N_("The file is larger than %(mb)s MB."),
                                      mb=f"{limit / 2**20:g}"))
    token = secrets.token_urlsafe(16)
    _sweep(_upload_dir(request), time.time())
    folder = _upload_dir(request) / token
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(data)
    return token, path


@router.post("/cycles/{cycle_id}/inputs", response_class=HTMLResponse)
def hr_upload(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
              file: Annotated[UploadFile, File()], csrf: Csrf = None) -> HTMLResponse:
    """Check an uploaded sheet and show every problem, or what would be stored; nothing is
    saved until the preview is confirmed. A plain ``def``: FastAPI runs it in its thread
    pool, so parsing a sheet never holds up the event loop (other users' pages)."""
    check_csrf(request, csrf)
    require_hr(user)
    token, path = _stage(request, file)
    folder, name = path.parent, path.name
    preview = cycles.preview_inputs(session, cycle_id=cycle_id, path=path, actor=actor(user))
    if preview.errors:
        shutil.rmtree(folder, ignore_errors=True)
        token = ""
    else:
        request.session["uploads"] = [*request.session.get("uploads", [])[-4:], token]
    cycle = cycles.get_cycle(session, cycle_id)
    return render(request, "import_preview.html", status=422 if preview.errors else 200,
                  user=user, cycle=cycle, preview=preview, token=token, name=name,
                  errors=[_error_row(e, path) for e in preview.errors],
                  page=preview_page(session, cycle, preview, 1))


#: rows of an upload's preview on one page
PREVIEW_PAGE = 50


def preview_page(session: SessionDep, cycle: Cycle, preview: Any, page: int) -> dict[str, Any]:
    """One page of a clean upload's rows as they would be stored: each row's 工号 and name,
    the columns under the inputs' labels (Chinese first), and the pages around it."""
    scheme = cycles.scheme_of(cycle.scheme_version)
    lang = i18n.language()

    def label(col: str) -> str:
        ident, _, rater = col.partition("@")
        spec = scheme.inputs.get(ident)
        name = ident if spec is None else (
            spec.label_en or spec.label or ident) if lang == "en" else (spec.label or ident)
        return f"{name} ({rater})" if rater else name

    rows = list(preview.sample)
    pages = max(1, -(-len(rows) // PREVIEW_PAGE))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * PREVIEW_PAGE:page * PREVIEW_PAGE]
    codes = [r["employee"] for r in shown]
    names = {r.code: r.name for r in session.execute(select(Employee.code, Employee.name)
                                                     .where(Employee.code.in_(codes)))}
    return {"rows": [{**r, "name": names.get(r["employee"], "")} for r in shown],
            "columns": [(c, label(c)) for c in preview.columns], "page": page,
            "pages": pages, "total": len(rows),
            "first": (page - 1) * PREVIEW_PAGE + 1 if shown else 0,
            "last": (page - 1) * PREVIEW_PAGE + len(shown)}


@router.get("/cycles/{cycle_id}/inputs/preview", response_class=HTMLResponse)
def hr_upload_page(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   token: Annotated[str, Query(max_length=64)],
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """Another page of a staged upload's preview (checked again: nothing is saved)."""
    require_hr(user)
    path = _staged(request, token)
    preview = cycles.preview_inputs(session, cycle_id=cycle_id, path=path, actor=actor(user))
    cycle = cycles.get_cycle(session, cycle_id)
    return render(request, "import_preview.html", status=422 if preview.errors else 200,
                  user=user, cycle=cycle, preview=preview,
                  token="" if preview.errors else token, name=path.name,
                  errors=[_error_row(e, path) for e in preview.errors],
                  page=preview_page(session, cycle, preview, page))


@router.get("/cycles/{cycle_id}/template.xlsx")
def hr_template(cycle_id: RecordId, session: SessionDep, user: UserDep) -> Response:
    """The scheme's input template for this cycle: one row per person (工号, 姓名, 团队), the
    inputs under their Chinese labels, dropdowns for levels, percent formats for ratios."""
    from kaohe.reports.template_xlsx import write_template

    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    scheme = cycles.scheme_of(cycle.scheme_version)
    rows = session.execute(
        select(Employee.code, Employee.name, Appraisal.team_code, Appraisal.inputs)
        .join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id).order_by(Appraisal.team_code, Employee.code)).all()
    people = [(code, name or "", team or "") for code, name, team, _ in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        write_template(scheme, people, path, period=cycle.period,
                       stored={code: dict(inputs or {}) for code, _, _, inputs in rows})
        data = path.read_bytes()
    return download(data, XLSX, export_name("录入模板", scheme.name, cycle.period, ext="xlsx"),
                    fallback=f"template-{cycle.period}.xlsx")


def export_name(*parts: str | None, ext: str) -> str:
    """A download's name from its parts (``工资表-2026-11-售前一组.xlsx``): each part made
    safe for a file name (Chinese kept), the empty ones left out."""
    return "-".join(safe_name(p, 60) for p in parts if p) + "." + ext


def _error_row(e: KaoheError, path: Path) -> dict[str, Any]:
    """A problem as a row of the preview: where, and what (the file is the page's title)."""
    text = i18n.translate(getattr(e, "detail", None) or e)
    value = getattr(e, "value", None)
    if value is not None and len(str(value)) > 60:
        value = f"{str(value)[:40]}… ({len(str(value))})"
    return {"row": getattr(e, "row", None), "column": getattr(e, "column", None),
            "value": value,
            "message": text.replace(str(path.parent) + "/", "")}


@router.post("/cycles/{cycle_id}/inputs/confirm")
def hr_import(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
              token: Annotated[str, Form()], csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    require_hr(user)
    path = _staged(request, token)
    n = cycles.import_inputs(session, cycle_id=cycle_id, path=path, actor=actor(user))
    session.flush()
    shutil.rmtree(path.parent, ignore_errors=True)
    request.session["uploads"] = [t for t in request.session.get("uploads", []) if t != token]
    _flash(request, i18n.gettext("Imported %(n)s rows from %(file)s.") % {"n": n,
                                                                          "file": path.name})
    return _redirect(f"/hr/cycles/{cycle_id}")


# -- a platform's export (生意参谋, 千牛, 飞鸽, 快手): mapped, previewed, then confirmed ----------
@router.get("/cycles/{cycle_id}/export", response_class=HTMLResponse)
@router.post("/cycles/{cycle_id}/export", response_class=HTMLResponse)
def hr_platform_export(cycle_id: RecordId, request: Request, session: SessionDep,
                             user: UserDep, platform: Annotated[str | None, Form()] = None,
                             file: Annotated[UploadFile | None, File()] = None,
                             csrf: Csrf = None) -> HTMLResponse:
    """Choose the platform and upload its export; the page then shows which export column
    became which input, the columns left out (with the closest known header) and the usual
    preview, whose confirmation is the inputs' own (``/inputs/confirm``). A plain ``def``, so
    reading the export runs in the thread pool, never on the event loop."""
    from kaohe.metrics.importers import PLATFORMS, import_export, load_mapping, write_inputs

    if request.method != "GET":
        check_csrf(request, csrf)  # a forged post is refused before anything else
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    page: dict[str, Any] = {"user": user, "cycle": cycle, "platform": platform or "sycm",
                            "platforms": [(p, load_mapping(p).name) for p in PLATFORMS]}
    if request.method == "GET":
        return render(request, "import_export.html", **page)
    if platform not in PLATFORMS or file is None:
        raise HTTPException(422, i18n.N_("Choose a platform and an export file."))
    token, export = _stage(request, file)
    folder, name = export.parent, export.name
    try:
        imported = import_export(export, load_mapping(platform), period=cycle.period)
    except KaoheError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "import_export.html", status=422, name=name,
                      errors=[_error_row(exc, export)], **page)
    inputs = folder / (Path(name).stem + ".inputs.csv")
    write_inputs(imported, inputs)
    export.unlink()  # the staged upload is the mapped sheet, confirmed as any other
    preview = cycles.preview_inputs(session, cycle_id=cycle_id, path=inputs, actor=actor(user))
    if preview.errors:
        shutil.rmtree(folder, ignore_errors=True)
        token = ""
    else:
        request.session["uploads"] = [*request.session.get("uploads", [])[-4:], token]
    return render(request, "import_export.html", status=422 if preview.errors else 200,
                  name=name, imported=imported, preview=preview, token=token,
                  errors=[_error_row(e, inputs) for e in preview.errors],
                  page=preview_page(session, cycle, preview, 1), **page)


# -- exports ------------------------------------------------------------------------------
@router.get("/cycles/{cycle_id}/payroll.xlsx")
def hr_payroll(cycle_id: RecordId, session: SessionDep, user: UserDep,
               team: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The payroll of the cycle (or of one team), named ``工资表-<period>[-<team>].xlsx``."""
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payroll.xlsx"
        write_payroll(session, cycle_id=cycle_id, path=path, team=team or None)
        data = path.read_bytes()
    return download(data, XLSX, export_name("工资表", cycle.period, team, ext="xlsx"),
                    fallback=f"payroll-{cycle.period}.xlsx")


@router.get("/cycles/{cycle_id}/forms.zip")
def hr_forms(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
             team: str | None = None) -> Response:
    require_hr(user)
    require_intact(session, cycle_id=cycle_id, team=team)
    scored, doc = cycles.scored_cycle(session, cycle_id=cycle_id)
    if team is not None:
        doc["results"] = [r for r in doc["results"] if (r["team"] or "") == team]
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_forms(scored, doc, Path(tmp), lang=lang_of(request))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
    period = cycles.get_cycle(session, cycle_id).period
    return download(buf.getvalue(), "application/zip",
                    export_name("考核表", period, team, ext="zip"),
                    fallback=f"forms-{period}.zip")


# -- the scheme editor ----------------------------------------------------------------------
@router.get("/cycles/{cycle_id}/scheme", response_class=HTMLResponse)
def hr_scheme(cycle_id: RecordId, request: Request, session: SessionDep,
              user: UserDep) -> HTMLResponse:
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    return render(request, "scheme.html", user=user, cycle=cycle,
                  content=cycle.scheme_version.content)


@router.post("/cycles/{cycle_id}/scheme")
def hr_save_scheme(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   content: Annotated[str, Form(max_length=500_000)],
                   csrf: Csrf = None) -> Response:
    """Save the edited scheme as a new version (checked first; the same text twice is one
    version). The cycle keeps the version it was opened with; the next one can use this."""
    check_csrf(request, csrf)
    require_hr(user)
    cycles.get_cycle(session, cycle_id)
    before = session.scalar(select(func.count()).select_from(SchemeVersion))
    sv = cycles.save_scheme(session, text=content, source="scheme editor", actor=actor(user))
    new = session.scalar(select(func.count()).select_from(SchemeVersion)) != before
    _flash(request, (i18n.gettext("Saved %(scheme)s version %(version)s; choose it when you "
                                  "open the next cycle.") if new else
                     i18n.gettext("This text is %(scheme)s version %(version)s already."))
           % {"scheme": sv.scheme_id, "version": sv.version})
    if request.headers.get("HX-Request") == "true":  # from the editor's htmx button
        return Response(status_code=200, headers={"HX-Redirect": "/hr/cycles"})
    return _redirect("/hr/cycles")


@router.post("/cycles/{cycle_id}/what-if", response_class=HTMLResponse)
def hr_what_if(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
               content: Annotated[str, Form(max_length=500_000)],
               csrf: Csrf = None) -> HTMLResponse:
    """Live validation and what-if preview (an htmx fragment; a full page without htmx)."""
    check_csrf(request, csrf)
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)  # a missing cycle is a 404, not a scheme error
    errors: list[str] = []
    changes: list[dict[str, Any]] = []
    try:
        changes = cycles.what_if(session, cycle_id=cycle_id, text=content)
    except KaoheError as exc:
        errors = str(exc).splitlines()
    if request.headers.get("HX-Request") != "true":
        return render(request, "scheme.html", user=user, cycle=cycle, content=content,
                      errors=errors, changes=changes, checked=True)
    return render(request, "what_if.html", errors=errors, changes=changes, checked=True)


# -- the appeal desk ----------------------------------------------------------------------
@router.get("/appeals", response_class=HTMLResponse)
def hr_appeals(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    require_hr(user)
    q = (select(Appeal, Employee.code, Employee.name, Cycle.period)
         .join(Appraisal, Appraisal.id == Appeal.appraisal_id)
         .join(Employee, Employee.id == Appraisal.employee_id)
         .join(Cycle, Cycle.id == Appraisal.cycle_id))
    open_ = session.execute(q.where(Appeal.state.in_([AppealState.filed,
                                                      AppealState.accepted]))
                            .order_by(Appeal.accept_due, Appeal.id)).all()
    done = session.execute(q.where(Appeal.state.in_([AppealState.rejected,
                                                     AppealState.resolved]))
                           .order_by(Appeal.id.desc()).limit(50)).all()
    return render(request, "hr_appeals.html", user=user, open=open_, done=done,
                  **appeal_desk.desk_context(session, list(open_), user))


@router.post("/appeals/{appeal_id}/decide")
def hr_decide(appeal_id: RecordId, request: Request, session: SessionDep, user: UserDep,
              decision: Annotated[str, Form(pattern="^(accept|reject)$")], csrf: Csrf = None,
              note: Annotated[str, Form(max_length=5000)] = "",
              confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    check_csrf(request, csrf)
    require_hr(user)
    if decision == "reject" and confirm != "yes":  # final for the appeal: asked first
        return appeal_desk.confirm_reject(request, session, user, appeal_id, note)
    appeals.decide_appeal(session, appeal_id=appeal_id, accept=decision == "accept", note=note,
                          actor=actor(user))
    return _redirect("/hr/appeals")


@router.post("/appeals/{appeal_id}/resolve")
def hr_resolve(appeal_id: RecordId, request: Request, session: SessionDep, user: UserDep,
               resolution: Annotated[str, Form(min_length=1, max_length=5000)],
               csrf: Csrf = None, changes: Annotated[str, Form(max_length=5000)] = "",
               input_id: appeal_desk.Keys = [],  # noqa: B006
               value: appeal_desk.Values = []) -> Response:  # noqa: B006
    """Resolve with the values the desk's form grants (inputs by id or label, levels from
    the scheme), as previewed; ``changes`` (INPUT=VALUE lines) is still read."""
    check_csrf(request, csrf)
    require_hr(user)
    granted = appeal_desk.changes_of(input_id, value, changes)
    appeals.resolve_appeal(session, appeal_id=appeal_id, changes=granted, resolution=resolution,
                           actor=actor(user))
    _flash(request, i18n.gettext("Appeal %(id)s resolved.") % {"id": appeal_id})
    return _redirect("/hr/appeals")


# the upload steps the item tables' pages share (kaohe.web.items)
stage = _stage
staged = _staged
error_row = _error_row
