"""Console pages of guided troubleshooting: start from a complaint, one step at a time, with the ranked causes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.deps import DbDep
from posops.core.errors import PosopsError
from posops.core.export import Column, csv_response, first_rows
from posops.core.forms import validated
from posops.core.i18n import translate
from posops.core.inputs import FormText, Line, Word
from posops.core.web import PageUser, TerminalSection, check_csrf, page_lang, render, template_vocabulary
from posops.diagnosis import service
from posops.diagnosis.schemas import DiagnosisCreate, DiagnosisSummary, HandoverIn, StepAnswer, SymptomPick
from posops.diagnosis.vocabulary import HandoverReason, SessionStatus, StepBy, StepKind, StepOutcome

router = APIRouter(include_in_schema=False)
template_vocabulary(SessionStatus, StepKind, StepOutcome, StepBy, HandoverReason)


@router.get("/diagnoses/new", response_class=HTMLResponse)
def new_diagnosis(request: Request, user: PageUser, terminal_id: Line = "") -> HTMLResponse:
    """Ask what is wrong, in the person's own words."""
    return render(request, "diagnosis/new.html", {"terminal_id": terminal_id})


@router.post("/diagnoses", response_class=HTMLResponse)
def start_diagnosis(request: Request, db: DbDep, user: PageUser, text: Annotated[FormText, Form()] = "",
                    terminal_id: Annotated[FormText, Form()] = "",
                    csrf_token: Annotated[FormText, Form()] = "") -> HTMLResponse:
    """Start the diagnosis and show its first step."""
    check_csrf(request, csrf_token)
    try:
        complaint = validated(DiagnosisCreate, {"text": text, "terminal_id": terminal_id or None})
        started = service.start(db, user, complaint, page_lang(request))
    except PosopsError as exc:
        return render(request, "diagnosis/new.html", {"terminal_id": terminal_id, "text": text,
                                                      "error": exc.text(page_lang(request))}, exc.status)
    return RedirectResponse(f"/diagnoses/{started.id}", status_code=303)  # type: ignore[return-value]


@router.get("/diagnoses/queue", response_class=HTMLResponse)
def desk_queue(request: Request, db: DbDep, user: PageUser) -> HTMLResponse:
    """The desk's queue: merchant sessions waiting for a desk step, then the recent hand-overs."""
    return render(request, "diagnosis/queue.html", {"queue": service.desk_queue(db, user)})


@router.get("/diagnoses/queue.csv")
def desk_queue_export(request: Request, db: DbDep, user: PageUser) -> Response:
    """The desk's queue as CSV, both its lists (see posops.core.export); complaints keep no card number."""
    queue = service.desk_queue(db, user)
    lang = page_lang(request)
    rows = [("diagnosis.queue_waiting", d) for d in queue.waiting] + \
        [("diagnosis.status_escalated", d) for d in queue.handed_over]
    columns: list[Column[tuple[str, DiagnosisSummary]]] = [
        Column("export.section", lambda r: translate(r[0], lang)),
        Column("diagnosis.complaint", lambda r: r[1].text or r[1].symptom),
        Column("field.serial_number", lambda r: r[1].terminal_serial, verbatim=True),
        Column("diagnosis.steps", lambda r: r[1].steps),
        Column("export.handover_reason", lambda r: translate(f"diagnosis.handover_reason.{r[1].handover_reason}",
                                                             lang) if r[1].handover_reason else None),
        Column("export.created_by", lambda r: r[1].created_by),
        Column("export.created_at", lambda r: r[1].created_at),
    ]
    return csv_response(first_rows(rows), columns, lang=lang, name="diagnosis-queue")


@router.get("/diagnoses/{session_id}", response_class=HTMLResponse)
def diagnosis_page(request: Request, session_id: Word, db: DbDep, user: PageUser) -> HTMLResponse:
    """Show the current step with its guidance, the answer buttons and the ranked causes."""
    detail = service.get(db, user, session_id, page_lang(request))
    return render(request, "diagnosis/session.html", {"d": detail})


@router.post("/diagnoses/{session_id}/steps", response_class=HTMLResponse)
def answer_step(request: Request, session_id: Word, db: DbDep, user: PageUser, step: Annotated[FormText, Form()],
                outcome: Annotated[FormText, Form()], csrf_token: Annotated[FormText, Form()] = "") -> RedirectResponse:
    """Record the answer and go on to the next step."""
    check_csrf(request, csrf_token)
    service.answer(db, user, session_id, validated(StepAnswer, {"step": step, "outcome": outcome}),
                   page_lang(request))
    return RedirectResponse(f"/diagnoses/{session_id}", status_code=303)


@router.post("/diagnoses/{session_id}/symptom", response_class=HTMLResponse)
def pick_symptom(request: Request, session_id: Word, db: DbDep, user: PageUser, symptom: Annotated[FormText, Form()],
                 csrf_token: Annotated[FormText, Form()] = "") -> RedirectResponse:
    """Record the symptom the person picked and go on."""
    check_csrf(request, csrf_token)
    service.pick_symptom(db, user, session_id, validated(SymptomPick, {"symptom": symptom}), page_lang(request))
    return RedirectResponse(f"/diagnoses/{session_id}", status_code=303)


@router.post("/diagnoses/{session_id}/handover", response_class=HTMLResponse)
def hand_over(request: Request, session_id: Word, db: DbDep, user: PageUser, note: Annotated[FormText, Form()] = "",
              csrf_token: Annotated[FormText, Form()] = "") -> RedirectResponse:
    """Stop and hand the diagnosis to the service desk."""
    check_csrf(request, csrf_token)
    service.hand_over(db, user, session_id, validated(HandoverIn, {"note": note[:500]}), page_lang(request))
    return RedirectResponse(f"/diagnoses/{session_id}", status_code=303)


TERMINAL_SECTION = TerminalSection(
    "diagnosis/terminal_section.html",
    lambda db, user, terminal_id: {"diagnoses": service.history(db, user, terminal_id),
                                   "known_checks": service.known_checks(db, user, terminal_id)})
"""The terminal page's diagnosis history, with the link to diagnose it."""
