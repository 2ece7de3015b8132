"""What a terminal reports while it upgrades, and what posops does with each report.

A terminal walks ``downloading → downloaded → installing → installed`` and may report
``failed`` at any step with a reason code in the manner of PAXSTORE's push-task failures.
Transient failures (a dropped download, low battery) are offered again up to
``MAX_ATTEMPTS``; permanent ones (the package is not for this model, the checksum does not
match the published one) never are: offering the same bytes again cannot help.

>>> after_report(TargetState.OFFERED, Step.DOWNLOADING, None, attempts=1).state
<TargetState.DOWNLOADING: 'downloading'>
>>> after_report(TargetState.INSTALLING, Step.FAILED, FailureCode.DOWNLOAD_FAILED, attempts=1).state
<TargetState.OFFERED: 'offered'>
>>> after_report(TargetState.INSTALLING, Step.FAILED, FailureCode.MODEL_MISMATCH, attempts=1).state
<TargetState.FAILED: 'failed'>
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_ATTEMPTS = 3
"""Offers of one package to one terminal before a transient failure counts as final."""


class Step(StrEnum):
    """A step a terminal reports."""

    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    INSTALLING = "installing"
    INSTALLED = "installed"
    FAILED = "failed"


class FailureCode(StrEnum):
    """Why a terminal's upgrade failed (after PAXSTORE's push-task failure codes)."""

    DOWNLOAD_FAILED = "download_failed"
    INSTALL_FAILED = "install_failed"
    MODEL_MISMATCH = "model_mismatch"
    CHECKSUM_FAILED = "checksum_failed"
    OUT_OF_DATE = "out_of_date"
    """The task expired before the terminal got to it."""
    INSUFFICIENT_SPACE = "insufficient_space"
    LOW_BATTERY = "low_battery"
    SIGNATURE_INVALID = "signature_invalid"


PERMANENT = frozenset({FailureCode.MODEL_MISMATCH, FailureCode.CHECKSUM_FAILED, FailureCode.OUT_OF_DATE,
                       FailureCode.SIGNATURE_INVALID})
"""Failures a second offer of the same package cannot cure."""


class TargetState(StrEnum):
    """Where one terminal of a campaign stands."""

    PENDING = "pending"
    """In a wave that has not opened yet."""
    OFFERED = "offered"
    """Its wave is open: the next time it asks (or is pushed to), it is told what to install."""
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    INSTALLING = "installing"
    INSTALLED = "installed"
    FAILED = "failed"
    """Final: a permanent failure, or transient ones ``MAX_ATTEMPTS`` times."""
    CANCELLED = "cancelled"
    """The campaign halted or was cancelled before the terminal installed."""


FINAL = frozenset({TargetState.INSTALLED, TargetState.FAILED, TargetState.CANCELLED})
IN_PROGRESS = frozenset({TargetState.DOWNLOADING, TargetState.DOWNLOADED, TargetState.INSTALLING})
ORDER = {TargetState.OFFERED: 0, TargetState.DOWNLOADING: 1, TargetState.DOWNLOADED: 2,
         TargetState.INSTALLING: 3, TargetState.INSTALLED: 4}
"""How far along each step is: a late, older report never moves a terminal backwards."""


@dataclass(frozen=True)
class Outcome:
    """A target's state and attempt count after one report, and whether the failure was final."""

    state: TargetState
    attempts: int
    final_failure: bool = False
    retried: bool = False


def is_permanent(code: FailureCode | None) -> bool:
    """Whether a failure code means the same package will never install on this terminal."""
    return code in PERMANENT


def after_report(state: TargetState, step: Step, code: FailureCode | None, *, attempts: int,
                 max_attempts: int = MAX_ATTEMPTS) -> Outcome:
    """The target's state after the terminal reports ``step`` (``code`` with ``failed``)."""
    if state in FINAL or state is TargetState.PENDING:
        return Outcome(state, attempts)
    if step is Step.FAILED:
        if is_permanent(code) or attempts >= max_attempts:
            return Outcome(TargetState.FAILED, attempts, final_failure=True)
        return Outcome(TargetState.OFFERED, attempts, retried=True)
    reached = TargetState(step.value)
    if ORDER[reached] <= ORDER.get(state, 0) and state is not TargetState.OFFERED:
        return Outcome(state, attempts)
    return Outcome(reached, attempts)
