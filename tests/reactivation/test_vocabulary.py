"""Reactivation request status is one vocabulary: the model default is a RequestStatus member."""

from __future__ import annotations

from posops.reactivation.conditions import RequestStatus
from posops.reactivation.models import ReactivationRequest


def test_request_default_is_an_enum_member() -> None:
    assert ReactivationRequest.__table__.columns["status"].default.arg is RequestStatus.SUBMITTED
