"""Console pages for terminals: the detail page and its lifecycle forms (suspend, activate …).

The detail page shows the sections every feature registers (see :class:`posops.core.web.TerminalSection`).
The terminal list, which shows telemetry presence, is the fleet feature's (:mod:`posops.fleet.views`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from posops.core.audit import AuditEntity
from posops.core.auth import Principal
from posops.core.deps import DbDep
from posops.core.forms import Refusal, dates, lines, validated
from posops.core.inputs import FormText, Id
from posops.core.web import (
    PageUser,
    TerminalSection,
    render,
    run_form,
    template_vocabulary,
    terminal_sections,
)
from posops.terminals import service
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.schemas import DecommissionIn, ReasonChangeIn, SuspendIn

router = APIRouter(include_in_schema=False)
template_vocabulary(TerminalStatus, AuditEntity)
Field = Annotated[FormText, Form()]


@router.get("/terminals/{terminal_id}", response_class=HTMLResponse)
def terminal_detail(request: Request, terminal_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """Show one terminal's record, its lifecycle and its timeline."""
    return _detail_page(request, db, user, terminal_id)


def _detail_page(request: Request, db: DbDep, user: Principal, terminal_id: Id,
                 refused: Refusal | None = None) -> HTMLResponse:
    terminal = service.get_terminal(db, user, terminal_id)
    context: dict[str, Any] = {"terminal": terminal, **terminal_sections(request, db, user, terminal_id),
                               "refusal": refused}
    return render(request, "terminals/detail.html", context, refused.status if refused else 200)


def lifecycle_section(db: DbDep, user: Principal, terminal_id: Id) -> dict[str, Any]:
    """What the detail page's lifecycle section shows: state, allowed actions, timeline."""
    return {"lifecycle": service.get_lifecycle(db, user, terminal_id),
            "timeline": service.timeline(db, user, terminal_id)}


TERMINAL_SECTION = TerminalSection("terminals/lifecycle_section.html", lifecycle_section)
"""The terminal page's lifecycle card: state, suspension, screen notice, actions, notices, timeline."""


def _act(request: Request, db: DbDep, user: Principal, terminal_id: Id, csrf_token: str, action: Any) -> Response:
    """Run a lifecycle action from a form: back to the page on success, the page with the refusal otherwise."""
    return run_form(request, csrf_token, action, lambda _: f"/terminals/{terminal_id}",
                    lambda refused: _detail_page(request, db, user, terminal_id, refused))


@router.post("/terminals/{terminal_id}/suspend")
def suspend(request: Request, terminal_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
            reason: Field = "", note: Field = "", unpaid_due_dates: Field = "", documents_requested: Field = "",
            required_version: Field = "") -> Response:
    """Suspend the terminal from its page."""
    def action() -> object:
        data = validated(SuspendIn, {
            "reason": reason, "note": note, "unpaid_due_dates": dates(unpaid_due_dates, "unpaid_due_dates"),
            "documents_requested": lines(documents_requested), "required_version": required_version or None})
        return service.suspend_terminal(db, user, terminal_id, data)
    return _act(request, db, user, terminal_id, csrf_token, action)


@router.post("/terminals/{terminal_id}/suspension-reason")
def change_reason(request: Request, terminal_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                  reason: Field = "", note: Field = "") -> Response:
    """Re-label the terminal's suspension from its page."""
    def action() -> object:
        data = validated(ReasonChangeIn, {"reason": reason, "note": note})
        return service.change_suspension_reason(db, user, terminal_id, data)
    return _act(request, db, user, terminal_id, csrf_token, action)


@router.post("/terminals/{terminal_id}/activate")
def activate(request: Request, terminal_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
             note: Field = "") -> Response:
    """Activate an onboarding terminal from its page."""
    return _act(request, db, user, terminal_id, csrf_token,
                lambda: service.activate_terminal(db, user, terminal_id, note.strip()[:500]))


@router.post("/terminals/{terminal_id}/decommission")
def decommission(request: Request, terminal_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                 note: Field = "", confirm_serial_number: Field = "") -> Response:
    """Decommission the terminal from its page, after the reason and the retyped serial number."""
    fields = {"note": note, "confirm_serial_number": confirm_serial_number}
    return _act(request, db, user, terminal_id, csrf_token,
                lambda: service.decommission_terminal(db, user, terminal_id, validated(DecommissionIn, fields)))
