"""Cycles and appraisals, one import away: the services of the monthly cycle, split by what
they do into

* :mod:`kaohe.workflow.schemes` — scheme versions;
* :mod:`kaohe.workflow.transitions` — opening a cycle, the appraisal and cycle state
  machines (guards and side effects declared in :mod:`kaohe.workflow.states`);
* :mod:`kaohe.workflow.inputs` — importing a sheet, and the inputs the engine reads;
* :mod:`kaohe.workflow.ratings` — ratings and incidents;
* :mod:`kaohe.workflow.scoring` — scoring, re-scoring for exports, what-if.

Services are functions; the caller owns the transaction (one per action), so a state change
and its audit event commit together or not at all. Bulk paths are set-based. Who may do
what is decided in :mod:`kaohe.workflow.permissions`.
"""

from __future__ import annotations

from kaohe.store.models import Cycle
from kaohe.workflow.inputs import (
    ImportPreview,
    history_frame,
    import_inputs,
    input_hash,
    preview_inputs,
)
from kaohe.workflow.ratings import (
    add_incident,
    check_value,
    correct_incident,
    period_days,
    rate,
    remove_incident,
    value_bounds,
)
from kaohe.workflow.schemes import save_scheme, scheme_of, scheme_text
from kaohe.workflow.scoring import compute_results, score_cycle, scored_cycle, what_if, write_results
from kaohe.workflow.transitions import (
    PERIOD_RE,
    advance_all,
    cycle_transition,
    find_cycle,
    get_appraisal,
    get_cycle,
    open_cycle,
    require_role,
    transition,
)

__all__ = [
    "PERIOD_RE",
    "Cycle",
    "ImportPreview",
    "add_incident",
    "advance_all",
    "check_value",
    "compute_results",
    "correct_incident",
    "cycle_transition",
    "find_cycle",
    "get_appraisal",
    "get_cycle",
    "history_frame",
    "import_inputs",
    "input_hash",
    "open_cycle",
    "period_days",
    "preview_inputs",
    "rate",
    "remove_incident",
    "require_role",
    "save_scheme",
    "scheme_of",
    "scheme_text",
    "score_cycle",
    "scored_cycle",
    "transition",
    "value_bounds",
    "what_if",
    "write_results",
]
