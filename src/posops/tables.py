"""Imports every feature's tables so that Base.metadata, and so Alembic, knows them all."""

from posops.core import models as core_models
from posops.diagnosis import models as diagnosis_models
from posops.fees import models as fee_models
from posops.iso8583 import models as iso8583_models
from posops.onboarding import models as onboarding_models
from posops.reactivation import models as reactivation_models
from posops.telemetry import models as telemetry_models
from posops.terminals import models as terminal_models
from posops.tickets import models as ticket_models
from posops.upgrades import models as upgrade_models

__all__ = ["core_models", "diagnosis_models", "fee_models", "iso8583_models", "onboarding_models",
           "reactivation_models", "telemetry_models", "terminal_models", "ticket_models", "upgrade_models"]
