"""The demo's diagnoses: merchants describing a fault in their own words, answered step by step through the service.

Each diagnosis starts from the merchant's complaint in Chinese on a terminal of the demo, so
the engine also gets what posops already knows of it (the fresh heartbeat, the imported traffic,
the suspension), and each proposed step is answered as the person would: the cleaned print head
prints again, the battery is charged, the desk reloads the parameters of the terminal that
could not sign in, and the card reader that still fails after everything is handed over to the
desk (which opens its repair ticket). The suspended showcase's diagnosis stays open at its next
step, paying the arrears: the one in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from posops.core.auth import Principal
from posops.core.db import Database
from posops.demo_cast import Cast, People, merchant_or_desk
from posops.diagnosis import service as diagnosis
from posops.diagnosis.schemas import DiagnosisCreate, HandoverIn, StepAnswer
from posops.diagnosis.vocabulary import SessionStatus, StepBy
from posops.terminals.models import Terminal

MAX_STEPS = 10


@dataclass(frozen=True)
class Visit:
    """One diagnosis: the terminal, the complaint, how the steps are answered, and whether it goes to the desk."""

    terminal_id: int
    text: str
    answers: dict[str, str] = field(default_factory=dict)
    """Step id → outcome; a step not listed is left unanswered (the diagnosis stays open there)."""
    hand_over: str | None = "请客服跟进处理。"
    """The note the merchant hands the diagnosis to the desk with if it is still open when the answers run out
    (None: it stays open)."""


def visits(cast: Cast) -> list[Visit]:
    """The demo's diagnoses, the one to stay open last."""
    return [
        Visit(cast.healthy, "小票打印不出来，打出来是白纸", {"clean_printhead": "fixed"}),
        Visit(cast.low_battery, "机器用一会儿就没电了，屏幕提示电量低，请充电", {"charge_battery": "fixed"}),
        Visit(cast.sign_in_failures, "早上开机签到一直失败，屏幕提示签到失败，请重试", {"reload_params": "fixed"}),
        Visit(cast.failing_reader, "刷卡老是失败，插卡也读不出来，一直提示请重新刷卡",
              {"clean_reader": "not_fixed", "ask_other_payment": "not_fixed", "train_operator": "not_fixed",
               "restart_terminal": "not_fixed"}, hand_over="换了几张卡都读不出来，清洁和重启都试过了，请安排维修。"),
        Visit(cast.suspended, "机器提示终端已停机，刷不了卡", hand_over=None),
    ]


def load_diagnoses(db: Database, cast: Cast, people: People) -> dict[str, int]:
    """Run the demo's diagnoses; returns how many ended in each status (the first trains the engine's reader)."""
    with db.transaction() as session:
        serials = dict(session.execute(select(Terminal.id, Terminal.serial_number)
                                       .where(Terminal.id.in_([v.terminal_id for v in visits(cast)]))).all())
    ended: dict[str, int] = {}
    for visit in visits(cast):
        status = _diagnose(db, merchant_or_desk(cast, people, visit.terminal_id), people.agent, visit,
                           serials[visit.terminal_id])
        ended[status] = ended.get(status, 0) + 1
    return ended


def _diagnose(db: Database, merchant: Principal, desk: Principal, visit: Visit, serial_number: str) -> str:
    """Start the diagnosis and answer its steps while the answers last; returns where it ended.

    The merchant answers its own steps; a step only the desk can take is answered by the desk, as
    when a merchant-led diagnosis waits in the desk's queue.
    """
    out = diagnosis.start(db, merchant, DiagnosisCreate(text=visit.text, terminal_id=serial_number))
    for _ in range(MAX_STEPS):
        step = out.next_step
        if out.status != SessionStatus.OPEN or step is None or step.id not in visit.answers:
            break
        who = merchant if step.by is StepBy.MERCHANT else desk
        out = diagnosis.answer(db, who, out.id, StepAnswer(step=step.id, outcome=visit.answers[step.id]))
    if visit.hand_over is not None and out.status == SessionStatus.OPEN:
        out = diagnosis.hand_over(db, merchant, out.id, HandoverIn(note=visit.hand_over))
    return out.status
