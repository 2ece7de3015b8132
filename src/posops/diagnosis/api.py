"""JSON routes of the diagnosis engine under /api/v1/diagnoses (the benchmark harness's contract)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from posops.core.deps import CurrentPrincipal, DbDep
from posops.core.i18n import normalize_lang
from posops.core.inputs import Id, Word
from posops.diagnosis import schemas, service

router = APIRouter(prefix="/api/v1", tags=["diagnosis"])


def _lang(request: Request, lang: Word | None) -> str:
    """`?lang=` wins, then Accept-Language, then the server default."""
    return normalize_lang(lang or request.headers.get("accept-language"), request.app.state.settings.lang)


@router.post("/diagnoses", status_code=201)
def start_diagnosis(body: schemas.DiagnosisCreate, request: Request, db: DbDep, principal: CurrentPrincipal,
                    lang: Word | None = None) -> schemas.DiagnosisOut:
    """Start a diagnosis: the ranked causes and the next most useful step."""
    return service.start(db, principal, body, _lang(request, lang))


@router.post("/diagnoses/{session_id}/steps")
def answer_step(session_id: Word, body: schemas.StepAnswer, request: Request, db: DbDep, principal: CurrentPrincipal,
                lang: Word | None = None) -> schemas.DiagnosisOut:
    """Answer a step (a check's outcome, `unknown`, or `fixed`/`not_fixed` for an action)."""
    return service.answer(db, principal, session_id, body, _lang(request, lang))


@router.post("/diagnoses/{session_id}/handover")
def hand_over(session_id: Word, body: schemas.HandoverIn, request: Request, db: DbDep, principal: CurrentPrincipal,
              lang: Word | None = None) -> schemas.DiagnosisOut:
    """Stop and hand the diagnosis to the service desk with everything found so far."""
    return service.hand_over(db, principal, session_id, body, _lang(request, lang))


@router.post("/diagnoses/{session_id}/symptom")
def pick_symptom(session_id: Word, body: schemas.SymptomPick, request: Request, db: DbDep,
                 principal: CurrentPrincipal, lang: Word | None = None) -> schemas.DiagnosisOut:
    """Answer the symptom question: the person says which fault it is."""
    return service.pick_symptom(db, principal, session_id, body, _lang(request, lang))


@router.get("/diagnoses/queue")
def desk_queue(db: DbDep, principal: CurrentPrincipal) -> schemas.DeskQueue:
    """The desk's queue: sessions waiting for a desk step, recent hand-overs, and counts by status."""
    return service.desk_queue(db, principal)


@router.get("/diagnoses/{session_id}")
def read_diagnosis(session_id: Word, request: Request, db: DbDep, principal: CurrentPrincipal,
                   lang: Word | None = None) -> schemas.DiagnosisDetail:
    """Read a diagnosis with every step."""
    return service.get(db, principal, session_id, _lang(request, lang))


@router.get("/terminals/{terminal_id}/diagnoses")
def terminal_diagnoses(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> list[schemas.DiagnosisSummary]:
    """The latest diagnoses of a terminal, newest first."""
    return service.history(db, principal, terminal_id)
