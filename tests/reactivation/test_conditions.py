"""Reactivation: arrears arithmetic, version comparison, conditions per reason, the request's states."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from posops.core.transitions import ConditionsNotMet, IllegalTransition, NotAllowed
from posops.reactivation.conditions import (
    ReactivationFacts,
    RequestAction,
    RequestStatus,
    allowed_request_actions,
    approve_request,
    approvers_for,
    reject_request,
    resubmit_request,
    submit_request,
    unmet_conditions,
    version_at_least,
)
from posops.terminals.arrears import FeePlan, compute_arrears, format_yuan, penalty_fen
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus

PLAN = FeePlan(monthly_fee_fen=3_000, daily_penalty_bp=5, grace_days=5, monthly_data_fee_fen=1_000)
TODAY = date(2024, 6, 30)


def codes(reason: str, facts: ReactivationFacts) -> list[str]:
    return [c.code for c in unmet_conditions(reason, facts)]


# ---------------------------------------------------------------- arrears arithmetic


def test_no_penalty_within_the_grace_period() -> None:
    assert penalty_fen(PLAN, 100_000, 0) == 0
    assert penalty_fen(PLAN, 100_000, 5) == 0


def test_penalty_accrues_only_for_days_beyond_grace() -> None:
    # 1,000.00 yuan at 万分之五 per day = 0.50 yuan per day; 6 days overdue, 5 of grace -> 1 day
    assert penalty_fen(PLAN, 100_000, 6) == 50
    assert penalty_fen(PLAN, 100_000, 15) == 500


def test_penalty_rounds_half_up_to_the_fen() -> None:
    plan = FeePlan(monthly_fee_fen=0, daily_penalty_bp=5, grace_days=0)
    assert penalty_fen(plan, 1_000, 1) == 1  # 0.5 fen -> 1
    assert penalty_fen(plan, 999, 1) == 0  # 0.4995 fen -> 0
    assert penalty_fen(plan, 3_000, 1) == 2  # 1.5 fen -> 2


def test_statement_sums_bills_each_from_its_own_due_date() -> None:
    dues = [date(2024, 5, 1), date(2024, 6, 1)]
    st = compute_arrears(PLAN, dues, TODAY)
    assert [line.days_overdue for line in st.lines] == [60, 29]
    assert st.principal_fen == 2 * 4_000
    # 4,000 fen x 5bp x (60-5) = 110 fen ; 4,000 x 5bp x (29-5) = 48 fen
    assert [line.penalty_fen for line in st.lines] == [110, 48]
    assert st.penalty_fen == 158 and not st.penalty_capped
    assert st.total_fen == 8_158


def test_cap_applies_to_the_statement_penalty() -> None:
    dues = [date(2024, 5, 1), date(2024, 6, 1)]
    st = compute_arrears(replace(PLAN, penalty_cap_fen=100), dues, TODAY)
    assert st.penalty_fen == 100 and st.penalty_capped
    assert st.total_fen == 8_100
    assert not compute_arrears(replace(PLAN, penalty_cap_fen=158), dues, TODAY).penalty_capped


def test_zero_owed() -> None:
    st = compute_arrears(PLAN, [], TODAY)
    assert (st.principal_fen, st.penalty_fen, st.total_fen, st.lines) == (0, 0, 0, ())
    free = FeePlan(monthly_fee_fen=0, daily_penalty_bp=5, grace_days=0)
    assert compute_arrears(free, [date(2024, 1, 1)], TODAY).total_fen == 0


def test_bills_not_yet_past_due_are_not_arrears() -> None:
    st = compute_arrears(PLAN, [TODAY, TODAY + timedelta(days=3)], TODAY)
    assert st.lines == () and st.total_fen == 0


def test_money_must_be_integer_fen() -> None:
    with pytest.raises(TypeError):
        FeePlan(monthly_fee_fen=30.0, daily_penalty_bp=5, grace_days=0)
    with pytest.raises(ValueError):
        FeePlan(monthly_fee_fen=-1, daily_penalty_bp=5, grace_days=0)
    with pytest.raises(TypeError):
        penalty_fen(PLAN, 1_000, 2.5)


def test_format_yuan() -> None:
    assert format_yuan(0) == "0.00"
    assert format_yuan(5) == "0.05"
    assert format_yuan(123_456) == "1,234.56"


# ---------------------------------------------------------------- versions


def test_version_at_least() -> None:
    assert version_at_least("3.10.0", "3.10.0")
    assert version_at_least("3.10.1", "3.10.0")
    assert not version_at_least("3.9.9", "3.10.0")


# ---------------------------------------------------------------- conditions per reason


def test_arrears_needs_computation_payment_and_voucher() -> None:
    assert codes("arrears", ReactivationFacts()) == ["arrears_not_computed"]
    assert codes("arrears", ReactivationFacts(amount_due_fen=8_158)) == [
        "arrears_unpaid",
        "payment_voucher_missing",
    ]
    part = unmet_conditions(
        "arrears",
        ReactivationFacts(amount_due_fen=8_158, amount_paid_fen=8_000, payment_voucher="TX20240630001"),
    )
    assert [c.code for c in part] == ["arrears_unpaid"]
    assert part[0].subject == "158" and "1.58" in part[0].zh and "1.58" in part[0].en
    assert codes(
        "arrears", ReactivationFacts(amount_due_fen=8_158, amount_paid_fen=8_158, payment_voucher="  ")
    ) == ["payment_voucher_missing"]
    assert (
        codes(
            "arrears",
            ReactivationFacts(amount_due_fen=8_158, amount_paid_fen=8_158, payment_voucher="TX20240630001"),
        )
        == []
    )


def test_arrears_with_nothing_owed_is_met() -> None:
    assert codes("arrears", ReactivationFacts(amount_due_fen=0)) == []


@pytest.mark.parametrize("reason", ["risk_limit", "security", "policy"])
def test_requested_documents_must_all_be_provided(reason: str) -> None:
    asked = ("情况说明", "近三个月交易流水")
    unmet = unmet_conditions(
        reason, ReactivationFacts(documents_requested=asked, documents_provided={"情况说明"})
    )
    assert [(c.code, c.subject) for c in unmet] == [("document_missing", "近三个月交易流水")]
    assert codes(reason, ReactivationFacts(documents_requested=asked, documents_provided=set(asked))) == []
    assert codes(reason, ReactivationFacts()) == []


def test_security_also_needs_the_tamper_flag_clear() -> None:
    assert codes("security", ReactivationFacts(tamper_triggered=True)) == ["tamper_still_triggered"]
    assert codes("security", ReactivationFacts(tamper_triggered=False)) == []


def test_device_fault_needs_an_accepted_repair_ticket() -> None:
    assert codes("device_fault", ReactivationFacts()) == ["repair_no_ticket"]
    assert codes("device_fault", ReactivationFacts(repair_ticket_id="T-17")) == ["repair_not_accepted"]
    assert (
        codes("device_fault", ReactivationFacts(repair_ticket_id="T-17", repair_accepted_by_merchant=True))
        == []
    )


def test_system_update_compares_reported_with_required_version() -> None:
    assert codes("system_update", ReactivationFacts(reported_version="3.10.0")) == [
        "required_version_not_set"
    ]
    assert codes("system_update", ReactivationFacts(required_version="3.10.0")) == ["version_not_reported"]
    assert codes("system_update", ReactivationFacts(required_version="3.10.0", reported_version="3.9.2")) == [
        "version_too_old"
    ]
    assert codes(
        "system_update", ReactivationFacts(required_version="3.10.0", reported_version="garbled!")
    ) == ["version_unreadable"]
    assert (
        codes("system_update", ReactivationFacts(required_version="3.9.2", reported_version="3.10.0")) == []
    )


def test_dormant_needs_identity_and_other_needs_an_agent() -> None:
    assert codes("dormant", ReactivationFacts()) == ["identity_not_reconfirmed"]
    assert codes("dormant", ReactivationFacts(identity_reconfirmed=True)) == []
    assert codes("other", ReactivationFacts()) == ["agent_confirmation_missing"]
    assert codes("other", ReactivationFacts(agent_confirmed=True)) == []


def test_every_unmet_condition_is_bilingual() -> None:
    for reason in SuspensionReason:
        for c in unmet_conditions(
            reason, ReactivationFacts(amount_due_fen=1, tamper_triggered=True, documents_requested=("x",))
        ):
            assert c.zh and c.en and c.zh != c.en


def test_approvers_per_reason() -> None:
    assert approvers_for("security") == {"risk"}
    assert approvers_for("risk_limit") == {"risk"}
    for reason in ["arrears", "system_update", "dormant", "policy", "other"]:
        assert approvers_for(reason) == {"agent"}
    assert approvers_for("device_fault") == {"agent", "system"}, "an accepted repair lifts a device fault"


# ---------------------------------------------------------------- request states

PAID = ReactivationFacts(amount_due_fen=8_158, amount_paid_fen=8_158, payment_voucher="TX1")


def test_merchant_or_agent_submits_for_a_suspended_terminal() -> None:
    assert submit_request("suspended", "arrears", "merchant") is RequestStatus.SUBMITTED
    assert submit_request("suspended", "arrears", "agent") is RequestStatus.SUBMITTED
    with pytest.raises(NotAllowed):
        submit_request("suspended", "arrears", "technician")
    with pytest.raises(IllegalTransition):
        submit_request("active", None, "merchant")


def test_approval_returns_the_terminal_to_active_and_requires_sign_in() -> None:
    decision = approve_request("submitted", "arrears", "suspended", "arrears", "agent", PAID)
    assert decision.request_status is RequestStatus.APPROVED
    assert decision.transition.to_status is TerminalStatus.ACTIVE
    assert decision.transition.to_reason is None
    assert decision.must_sign_in


def test_approval_with_unmet_conditions_lists_them() -> None:
    with pytest.raises(ConditionsNotMet) as caught:
        approve_request(
            "submitted", "arrears", "suspended", "arrears", "agent", ReactivationFacts(amount_due_fen=8_158)
        )
    err = caught.value
    assert [c.code for c in err.unmet] == ["arrears_unpaid", "payment_voucher_missing"]
    assert "81.58" in err.zh and "81.58" in err.en
    assert err.allowed == ("reject",)


def test_only_risk_approves_a_security_request() -> None:
    facts = ReactivationFacts(tamper_triggered=False)
    with pytest.raises(NotAllowed):
        approve_request("submitted", "security", "suspended", "security", "agent", facts)
    assert approve_request("submitted", "security", "suspended", "security", "risk", facts).must_sign_in


def test_approval_refused_when_the_suspension_reason_changed() -> None:
    with pytest.raises(IllegalTransition) as caught:
        approve_request("submitted", "arrears", "suspended", "security", "agent", PAID)
    assert "resubmit" in caught.value.en


def test_approval_refused_when_the_terminal_is_no_longer_suspended() -> None:
    with pytest.raises(IllegalTransition):
        approve_request("submitted", "arrears", "active", None, "agent", PAID)


def test_a_decided_request_cannot_be_approved_again() -> None:
    for status in ["approved", "rejected"]:
        with pytest.raises(IllegalTransition):
            approve_request(status, "arrears", "suspended", "arrears", "agent", PAID)


def test_reject_needs_an_approver_and_a_reason_then_resubmit() -> None:
    with pytest.raises(NotAllowed):
        reject_request("submitted", "risk_limit", "agent", "材料不全")
    with pytest.raises(ValueError):
        reject_request("submitted", "arrears", "agent", "  ")
    assert reject_request("submitted", "arrears", "agent", "凭证号查无此笔") is RequestStatus.REJECTED
    assert resubmit_request("rejected", "arrears", "suspended", "merchant") is RequestStatus.SUBMITTED
    with pytest.raises(IllegalTransition):
        resubmit_request("submitted", "arrears", "suspended", "merchant")
    with pytest.raises(IllegalTransition):
        resubmit_request("rejected", "arrears", "active", "merchant")


def test_allowed_request_actions() -> None:
    assert allowed_request_actions(None, "arrears", "merchant") == [RequestAction.SUBMIT]
    assert allowed_request_actions("submitted", "arrears", "agent") == [
        RequestAction.APPROVE,
        RequestAction.REJECT,
    ]
    assert allowed_request_actions("submitted", "security", "agent") == []
    assert allowed_request_actions("rejected", "security", "merchant") == [RequestAction.RESUBMIT]
    assert allowed_request_actions("approved", "arrears", "agent") == []
