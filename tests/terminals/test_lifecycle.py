"""Terminal lifecycle: which role may move a terminal where, and what a refusal says."""

from __future__ import annotations

from enum import StrEnum

import pytest

from posops.core.transitions import ConditionsNotMet, IllegalTransition, NotAllowed, TransitionError
from posops.terminals.lifecycle import (
    ACTION_LABELS,
    REASON_LABELS,
    Action,
    SuspensionReason,
    TerminalStatus,
    allowed_actions,
    decide,
    may_change_reason,
    suspension_reasons_for,
)

ROLES = ["merchant", "agent", "risk", "technician", "admin", "system"]
NON_RISK_REASONS = ["arrears", "device_fault", "system_update", "policy", "other"]


class Role(StrEnum):
    """Stand-in for core.auth.Role: the lifecycle must accept any str-valued role."""

    AGENT = "agent"
    RISK = "risk"


# ---------------------------------------------------------------- activate


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_agent_and_admin_activate_an_onboarding_terminal(role: str) -> None:
    t = decide("onboarding", None, role, "activate")
    assert (t.from_status, t.to_status, t.to_reason) == ("onboarding", "active", None)
    assert not t.must_sign_in


@pytest.mark.parametrize("role", ["merchant", "risk", "technician", "system"])
def test_other_roles_may_not_activate(role: str) -> None:
    with pytest.raises(NotAllowed):
        decide("onboarding", None, role, "activate")


def test_activating_an_active_terminal_is_illegal_and_lists_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as caught:
        decide("active", None, "agent", "activate")
    err = caught.value
    assert not isinstance(err, NotAllowed)
    assert err.allowed == ("suspend", "decommission")
    assert ACTION_LABELS[Action.SUSPEND].zh in err.zh and ACTION_LABELS[Action.DECOMMISSION].zh in err.zh
    assert "suspend" in err.en and "decommission" in err.en
    assert err.text("en") == err.en and err.text("zh-CN") == err.zh


# ---------------------------------------------------------------- suspend


@pytest.mark.parametrize("reason", NON_RISK_REASONS)
@pytest.mark.parametrize("role", ["agent", "risk"])
def test_agent_and_risk_suspend_for_ordinary_reasons(role: str, reason: str) -> None:
    t = decide("active", None, role, "suspend", new_reason=reason)
    assert t.to_status is TerminalStatus.SUSPENDED
    assert t.to_reason == reason


@pytest.mark.parametrize("reason", ["security", "risk_limit"])
def test_only_risk_suspends_for_security_and_risk_limit(reason: str) -> None:
    assert decide("active", None, "risk", "suspend", new_reason=reason).to_reason == reason
    for role in ["agent", "admin", "merchant", "technician", "system"]:
        with pytest.raises(NotAllowed) as caught:
            decide("active", None, role, "suspend", new_reason=reason)
        assert REASON_LABELS[SuspensionReason(reason)].zh in caught.value.zh


def test_dormancy_suspension_is_for_the_worker_and_agents() -> None:
    assert decide("active", None, "system", "suspend", new_reason="dormant").to_reason == "dormant"
    assert decide("active", None, "agent", "suspend", new_reason="dormant").to_reason == "dormant"
    with pytest.raises(NotAllowed):
        decide("active", None, "risk", "suspend", new_reason="dormant")


def test_the_worker_suspends_for_nothing_but_dormancy() -> None:
    assert suspension_reasons_for("system") == [SuspensionReason.DORMANT]
    with pytest.raises(NotAllowed):
        decide("active", None, "system", "suspend", new_reason="arrears")


@pytest.mark.parametrize("role", ["merchant", "technician", "admin"])
def test_merchant_technician_admin_never_suspend(role: str) -> None:
    assert suspension_reasons_for(role) == []
    assert Action.SUSPEND not in allowed_actions("active", None, role)


def test_suspend_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        decide("active", None, "agent", "suspend")


def test_suspending_a_suspended_terminal_is_illegal() -> None:
    with pytest.raises(IllegalTransition) as caught:
        decide("suspended", "arrears", "agent", "suspend", new_reason="other")
    assert set(caught.value.allowed) == {"change_reason", "reactivate", "decommission"}


# ---------------------------------------------------------------- change reason


def test_agent_relabels_between_ordinary_reasons_only() -> None:
    t = decide("suspended", "arrears", "agent", "change_reason", new_reason="dormant")
    assert (t.from_reason, t.to_reason, t.to_status) == ("arrears", "dormant", "suspended")
    assert not may_change_reason("agent", "arrears", "security")
    assert not may_change_reason("agent", "security", "arrears")


def test_risk_may_escalate_any_suspension_to_security_and_lift_its_own() -> None:
    assert may_change_reason("risk", "dormant", "security")
    assert may_change_reason("risk", "security", "arrears")
    assert not may_change_reason("risk", "arrears", "dormant")
    assert not may_change_reason("system", "arrears", "dormant")


def test_relabelling_to_the_same_reason_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        decide("suspended", "policy", "agent", "change_reason", new_reason="policy")


# ---------------------------------------------------------------- reactivate


@pytest.mark.parametrize("reason", [*NON_RISK_REASONS, "dormant"])
def test_agent_reactivates_ordinary_suspensions_with_an_approved_request(reason: str) -> None:
    t = decide("suspended", reason, "agent", "reactivate", reactivation_approved=True)
    assert (t.to_status, t.to_reason) == ("active", None)
    assert t.must_sign_in


@pytest.mark.parametrize("reason", ["security", "risk_limit"])
def test_lifting_a_risk_suspension_needs_risk(reason: str) -> None:
    assert decide("suspended", reason, "risk", "reactivate", reactivation_approved=True).must_sign_in
    with pytest.raises(NotAllowed) as caught:
        decide("suspended", reason, "agent", "reactivate", reactivation_approved=True)
    assert caught.value.allowed == ("decommission",)


def test_risk_does_not_reactivate_ordinary_suspensions() -> None:
    with pytest.raises(NotAllowed):
        decide("suspended", "arrears", "risk", "reactivate", reactivation_approved=True)


def test_reactivation_without_an_approved_request_is_refused_as_a_conflict() -> None:
    with pytest.raises(ConditionsNotMet) as caught:
        decide("suspended", "arrears", "agent", "reactivate")
    assert isinstance(caught.value, IllegalTransition)
    assert [c.code for c in caught.value.unmet] == ["reactivation_request_not_approved"]


def test_reactivating_an_active_terminal_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        decide("active", None, "agent", "reactivate", reactivation_approved=True)


# ---------------------------------------------------------------- decommission


@pytest.mark.parametrize(
    ("status", "reason"), [("onboarding", None), ("active", None), ("suspended", "security")]
)
def test_agent_and_admin_decommission_from_any_live_state(status: str, reason: str | None) -> None:
    for role in ["agent", "admin"]:
        assert decide(status, reason, role, "decommission").to_status is TerminalStatus.DECOMMISSIONED
    with pytest.raises(NotAllowed):
        decide(status, reason, "merchant", "decommission")


def test_nothing_leaves_decommissioned() -> None:
    for role in ROLES:
        assert allowed_actions("decommissioned", None, role) == []
    with pytest.raises(IllegalTransition) as caught:
        decide("decommissioned", None, "admin", "decommission")
    assert caught.value.allowed == ()
    assert "没有可执行的操作" in caught.value.zh
    assert "No action is available" in caught.value.en


# ---------------------------------------------------------------- allowed_actions, messages, types


def test_allowed_actions_per_role_on_a_risk_suspension() -> None:
    assert allowed_actions("suspended", "risk_limit", "risk") == [
        Action.CHANGE_REASON,
        Action.REACTIVATE,
    ]
    assert allowed_actions("suspended", "risk_limit", "agent") == [Action.DECOMMISSION]
    assert allowed_actions("suspended", "risk_limit", "merchant") == []


def test_allowed_actions_agree_with_decide_for_every_state_and_role() -> None:
    states = [("onboarding", None), ("active", None), ("decommissioned", None)]
    states += [("suspended", r.value) for r in SuspensionReason]
    for status, reason in states:
        for role in ROLES:
            allowed = allowed_actions(status, reason, role)
            for action in Action:
                targets = (
                    [r for r in SuspensionReason if r != reason]
                    if action
                    in (
                        Action.SUSPEND,
                        Action.CHANGE_REASON,
                    )
                    else [None]
                )
                outcomes = []
                for target in targets:
                    try:
                        decide(status, reason, role, action, new_reason=target, reactivation_approved=True)
                        outcomes.append(True)
                    except TransitionError:
                        outcomes.append(False)
                assert (action in allowed) == any(outcomes), (status, reason, role, action)


def test_not_allowed_message_names_the_role_and_lists_its_actions() -> None:
    with pytest.raises(NotAllowed) as caught:
        decide("active", None, "agent", "suspend", new_reason="security")
    err = caught.value
    assert err.allowed == ("suspend", "decommission")
    assert "客服" in err.zh and "agent" in err.en
    body = err.as_dict()
    assert body["code"] == "not_allowed"
    assert body["allowed"] == ["suspend", "decommission"]
    assert set(body["message"]) == {"zh-CN", "en"}


def test_accepts_any_str_enum_for_roles() -> None:
    assert decide("active", None, Role.RISK, "suspend", new_reason="security").to_reason == "security"
    assert allowed_actions("onboarding", None, Role.AGENT) == [Action.ACTIVATE, Action.DECOMMISSION]


def test_a_suspended_terminal_must_have_a_reason() -> None:
    with pytest.raises(ValueError):
        allowed_actions("suspended", None, "agent")


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(ValueError):
        decide("paused", None, "agent", "activate")
