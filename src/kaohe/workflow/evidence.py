"""Evidence for an appeal: files the appellant attaches (a screenshot of the chat, a PDF,
an xlsx or CSV export, a text note), stored in the database with the appeal.

Bounded: at most :data:`MAX_FILES` files of :data:`MAX_BYTES` each, of the types in
:data:`TYPES`, recognised by their content (magic bytes), which must agree with the file's
name. Only the appellant attaches, while the appeal is open (filed or accepted); only the
appellant and HR see or download them (a supervisor who sees the appraisal does not).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaohe.store.models import Appeal, AppealEvidence, AppealState, Appraisal
from kaohe.text import N_, Text
from kaohe.workflow import permissions
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import Invalid, NotFound, WorkflowError

MAX_BYTES = 5 * 2**20
MAX_FILES = 5
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: a file's ending → (the type it is stored and served as, the kind its content must be)
TYPES: dict[str, tuple[str, str]] = {
    ".png": ("image/png", "png"),
    ".jpg": ("image/jpeg", "jpeg"),
    ".jpeg": ("image/jpeg", "jpeg"),
    ".pdf": ("application/pdf", "pdf"),
    ".xlsx": (XLSX, "xlsx"),
    ".csv": ("text/csv; charset=utf-8", "text"),
    ".txt": ("text/plain; charset=utf-8", "text"),
}
KIND_NAMES = {"png": "PNG", "jpeg": "JPEG", "pdf": "PDF", "xlsx": "xlsx", "text": N_("text")}


def sniff(data: bytes) -> str | None:
    """The kind of file ``data`` is, by its first bytes (and, for xlsx, its zip listing)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        return None
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
            return "text"
        except UnicodeDecodeError:
            continue
    return None


def clean_name(name: str) -> str:
    """The file's own name (no folders), at most 200 characters, its ending kept."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    base = "".join(c for c in base if c.isprintable() and c not in '"\\/')
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:190] + dot + ext[:9]) if dot else base[:200]
    return base or "evidence"


def _appellant_or_hr(session: Session, actor: Actor, appeal: Appeal, what: str) -> Appraisal:
    app = session.get(Appraisal, appeal.appraisal_id)
    assert app is not None
    permissions.check(session, actor, app, what)
    return app


def attach(session: Session, *, appeal_id: int, filename: str, data: bytes,
           actor: Actor) -> AppealEvidence:
    """Attach a file to an open appeal, as its appellant; refused, with the reason, when it
    is too large, of another type than its name says, or one file too many."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(Text(N_("no appeal %(id)s"), id=appeal_id))
    _appellant_or_hr(session, actor, appeal, "attach_evidence")
    if appeal.state not in (AppealState.filed, AppealState.accepted):
        raise WorkflowError(Text(N_("appeal %(id)s is decided; evidence is attached while it is "
                                    "open"), id=appeal.id))
    name = clean_name(filename)
    ext = "." + name.rpartition(".")[2].lower() if "." in name else ""
    if ext not in TYPES:
        raise Invalid(Text(N_("%(file)s: attach a PNG or JPEG image, a PDF, an xlsx, CSV or text "
                              "file"), file=name))
    if not data:
        raise Invalid(Text(N_("%(file)s is empty"), file=name))
    if len(data) > MAX_BYTES:
        raise Invalid(Text(N_("%(file)s is larger than %(mb)s MB"), file=name,
                           mb=MAX_BYTES // 2**20))
    media, kind = TYPES[ext]
    found = sniff(data)
    if found != kind:
        raise Invalid(Text(N_("%(file)s: the content is not a %(kind)s file, as its name says"),
                           file=name, kind=Text(KIND_NAMES[kind])))
    n = session.scalar(select(func.count()).select_from(AppealEvidence).where(
        AppealEvidence.appeal_id == appeal.id)) or 0
    if n >= MAX_FILES:
        raise Invalid(Text(N_("appeal %(id)s has %(n)s files already, the most it can have"),
                           id=appeal.id, n=MAX_FILES))
    digest = hashlib.sha256(data).hexdigest()
    ev = AppealEvidence(appeal_id=appeal.id, filename=name, media_type=media, size=len(data),
                        sha256=digest, data=data, uploaded_by=actor.username)
    session.add(ev)
    session.flush()
    record(session, action="appeal.evidence_added", actor=actor, target_type="appeal",
           target_id=appeal.id, details={"evidence": ev.id, "file": name, "size": len(data),
                                         "sha256": digest})
    return ev


def list_evidence(session: Session, *, appeal_id: int, actor: Actor) -> list[AppealEvidence]:
    """The files of an appeal (without their content), for its appellant and HR."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(Text(N_("no appeal %(id)s"), id=appeal_id))
    _appellant_or_hr(session, actor, appeal, "see_evidence")
    return list(session.scalars(select(AppealEvidence).where(
        AppealEvidence.appeal_id == appeal.id).order_by(AppealEvidence.id)))


def get_evidence(session: Session, *, appeal_id: int, evidence_id: int,
                 actor: Actor) -> AppealEvidence:
    """One file with its content, for its appeal's appellant and HR."""
    appeal = session.get(Appeal, appeal_id)
    ev = session.get(AppealEvidence, evidence_id)
    if appeal is None or ev is None or ev.appeal_id != appeal.id:
        raise NotFound(Text(N_("no such evidence file")))
    _appellant_or_hr(session, actor, appeal, "see_evidence")
    return ev


def counts(session: Session, appeal_ids: list[int]) -> dict[int, list[AppealEvidence]]:
    """The files of several appeals (without content), for HR's desk."""
    out: dict[int, list[AppealEvidence]] = {}
    if not appeal_ids:
        return out
    for ev in session.scalars(select(AppealEvidence).where(
            AppealEvidence.appeal_id.in_(appeal_ids)).order_by(AppealEvidence.id)):
        out.setdefault(ev.appeal_id, []).append(ev)
    return out
