"""HR's item tables of a cycle (e.g. 逾期未回款, the late-paid deals): the page listing the
scheme's tables with how many rows each holds, and a second upload per table, checked and
previewed like the input sheet (every problem listed, nothing saved until confirmed)."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kaohe.store.models import Cycle
from kaohe.web import i18n
from kaohe.web.deps import (
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    lang_of,
    render,
    require_hr,
)
from kaohe.web.hr import error_row, stage, staged
from kaohe.workflow import cycles, items
from kaohe.workflow.schemes import scheme_of

router = APIRouter(prefix="/hr")
Csrf = Annotated[str | None, Form()]
TableName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _tables(session: SessionDep, cycle: Cycle, lang: str) -> list[dict[str, object]]:
    """The scheme's item tables, labelled in the page's language, with their row counts."""
    counts = items.item_counts(session, cycle_id=cycle.id)
    return [{"name": name, "label": (spec.label_en or spec.label or name) if lang == "en"
             else (spec.label or name), "rows": counts.get(name, 0),
             "columns": [(c, (col.label_en or col.label or c) if lang == "en"
                          else (col.label or c)) for c, col in spec.columns.items()]}
            for name, spec in items.declared(scheme_of(cycle.scheme_version)).items()]


@router.get("/cycles/{cycle_id}/items", response_class=HTMLResponse)
def hr_items(cycle_id: RecordId, request: Request, session: SessionDep,
             user: UserDep) -> HTMLResponse:
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    tables = _tables(session, cycle, lang_of(request))
    return render(request, "hr_items.html", user=user, cycle=cycle, tables=tables,
                  importable=cycle.state.value in ("open", "reviewing"))


@router.post("/cycles/{cycle_id}/items/{table}", response_class=HTMLResponse)
def hr_items_upload(cycle_id: RecordId, table: TableName, request: Request,
                    session: SessionDep, user: UserDep, file: Annotated[UploadFile, File()],
                    csrf: Csrf = None) -> HTMLResponse:
    """Check an uploaded item sheet and show every problem, or what would be stored."""
    check_csrf(request, csrf)
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    token, path = stage(request, file)
    try:
        preview = items.preview_items(session, cycle_id=cycle.id, table=table, path=path,
                                      actor=actor(user))
    except Exception:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    if preview.errors:
        shutil.rmtree(path.parent, ignore_errors=True)
        token = ""
    else:
        request.session["uploads"] = [*request.session.get("uploads", [])[-4:], token]
    return render(request, "items_preview.html", status=422 if preview.errors else 200,
                  user=user, cycle=cycle, table=table, preview=preview, token=token,
                  name=path.name, errors=[error_row(e, path) for e in preview.errors])


@router.post("/cycles/{cycle_id}/items/{table}/confirm")
def hr_items_import(cycle_id: RecordId, table: TableName, request: Request,
                    session: SessionDep, user: UserDep, token: Annotated[str, Form()],
                    csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    require_hr(user)
    path = staged(request, token)
    n = items.import_items(session, cycle_id=cycle_id, table=table, path=path,
                           actor=actor(user))
    session.flush()
    shutil.rmtree(path.parent, ignore_errors=True)
    request.session["uploads"] = [t for t in request.session.get("uploads", []) if t != token]
    request.session["flash"] = i18n.gettext("Imported %(n)s rows from %(file)s.") % {
        "n": n, "file": path.name}
    return RedirectResponse(f"/hr/cycles/{cycle_id}/items", status_code=303)
