"""Writes audit events, in the caller's transaction, for every state change."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posops.core.auth import Principal
from posops.core.models import AuditEvent


class AuditEntity(StrEnum):
    """What an audit event is about; stored documents name their owner with the same words."""

    TERMINAL = "terminal"
    MERCHANT = "merchant"
    USER = "user"
    API_TOKEN = "api_token"
    REACTIVATION_REQUEST = "reactivation_request"
    ONBOARDING_APPLICATION = "onboarding_application"
    DIAGNOSIS = "diagnosis"
    INCIDENT = "incident"
    FLEET = "fleet"
    KNOWLEDGE = "knowledge"
    TICKET = "ticket"
    UPGRADE_PACKAGE = "upgrade_package"
    UPGRADE_CAMPAIGN = "upgrade_campaign"
    COMPATIBILITY = "compatibility"
    """A cell of the upgrade compatibility matrix, or an acquirer's minimum version (id: model/…)."""
    RATE_CARD = "rate_card"
    """A provider's rate card of the fees feature."""
    FEE_FLAG = "fee_flag"
    """What a fee check found: an overcharge, or an MCC unlike the merchant's registered one."""
    LOGIN_ADDRESS = "login_address"
    """An address whose failed sign-ins reached the ceiling (its id is the address)."""



def record(session: Session, actor: Principal, entity_type: AuditEntity, entity_id: object, action: str, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str | None = None) -> AuditEvent:
    """Add one audit event (who, what, before -> after, why) to the session's transaction."""
    event = AuditEvent(actor_user_id=actor.user_id, actor=actor.username, actor_role=actor.role.value,
                       entity_type=entity_type, entity_id=str(entity_id), action=action,
                       before=before, after=after, reason=reason)
    session.add(event)
    return event


def history(session: Session, entity_type: AuditEntity, entity_id: object) -> list[AuditEvent]:
    """Return the audit events of one entity, oldest first."""
    query = (select(AuditEvent).where(AuditEvent.entity_type == entity_type,
                                      AuditEvent.entity_id == str(entity_id))
             .order_by(AuditEvent.at, AuditEvent.id))
    return list(session.scalars(query))
