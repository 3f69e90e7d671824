"""Scheme versions: a scheme text saved once, immutable, identified by its hash; the scheme
a cycle was opened with, loaded (and cached) from its version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaohe.engine.load import load_scheme_text
from kaohe.presets import PRESET_IDS, preset_text
from kaohe.scheme.models import Scheme
from kaohe.store.models import (
    SchemeVersion,
)
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import NotFound


def save_scheme(session: Session, *, text: str, source: str, actor: Actor) -> SchemeVersion:
    """Save a scheme text as an immutable version (the same text twice is one version)."""
    scheme = load_scheme_text(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    found = session.scalar(select(SchemeVersion).where(SchemeVersion.content_hash == digest))
    if found is not None:
        return found
    last = session.scalar(select(func.max(SchemeVersion.version)).where(
        SchemeVersion.scheme_id == scheme.id)) or 0
    sv = SchemeVersion(scheme_id=scheme.id, version=last + 1, content=text, content_hash=digest,
                       created_by=actor.username)
    session.add(sv)
    session.flush()
    record(session, action="scheme.saved", actor=actor, target_type="scheme", target_id=sv.id,
           details={"scheme": scheme.id, "version": sv.version, "hash": digest})
    return sv


def scheme_text(ref: str) -> tuple[str, str]:
    """A preset id or a YAML path → (text, source)."""
    if ref in PRESET_IDS:
        return preset_text(ref), f"preset {ref}"
    p = Path(ref)
    if not p.exists():
        raise NotFound(f"{ref!r} is neither a preset ({', '.join(PRESET_IDS)}) nor a file")
    return p.read_text("utf-8"), str(p)


_SCHEMES: dict[str, Scheme] = {}


def scheme_of(sv: SchemeVersion) -> Scheme:
    hit = _SCHEMES.get(sv.content_hash)
    if hit is None:
        hit = load_scheme_text(sv.content, f"scheme {sv.scheme_id} v{sv.version}")
        _SCHEMES[sv.content_hash] = hit
    return hit
