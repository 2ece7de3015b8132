"""The health gate of an upgrade campaign: whether a wave halts the campaign, waits, or advances.

A wave is judged on its install failures and on what its upgraded terminals do afterwards —
sign-in failures, declines and timeouts in traffic, heartbeat loss, restarts — against the
terminals of the same models not yet upgraded, observed over the same hours (the control).
Each signal counts terminals, not events: a terminal is affected when it had at least one
event of the signal in the window, so one flaky terminal weighs as much as one healthy one.

Install failures are tested (exact binomial, one-sided) against a tolerated failure rate and
also halt above an absolute ceiling; each health signal is tested (Fisher's exact, one-sided)
treated against control, or against a floor rate when there is no control. The p-values of one
decision are Holm-adjusted, so the chance that a decision halts on noise is at most ``alpha``;
a health signal regresses only when it is also practically worse (relative and absolute
margins), so a huge wave does not halt on a trivial difference. Any regression halts at once,
soaked or not; a soaked wave with enough terminals installed and observed advances.

>>> quiet = {signal: Cohort(terminals=50, affected=1) for signal in HEALTH_SIGNALS}
>>> control = {signal: Cohort(terminals=5000, affected=75) for signal in HEALTH_SIGNALS}
>>> judge_wave(WaveObservation(targeted=50, installed=50, failed=0, treated=quiet, control=control,
...                            soaked=True)).verdict
<Verdict.ADVANCE: 'advance'>
>>> sick = {**quiet, Signal.SIGN_IN_FAILURE: Cohort(terminals=50, affected=8)}
>>> decision = judge_wave(WaveObservation(targeted=50, installed=50, failed=0, treated=sick, control=control,
...                                       soaked=False))
>>> decision.verdict, decision.halted_on
(<Verdict.HALT: 'halt'>, <Signal.SIGN_IN_FAILURE: 'sign_in_failure'>)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import binomtest, fisher_exact


class Signal(StrEnum):
    """What the gate watches on a wave (the values are the API's and the database's words)."""

    INSTALL_FAILURE = "install_failure"
    SIGN_IN_FAILURE = "sign_in_failure"
    DECLINES = "declines"
    TIMEOUTS = "timeouts"
    HEARTBEAT_LOSS = "heartbeat_loss"
    RESTARTS = "restarts"


HEALTH_SIGNALS: tuple[Signal, ...] = tuple(signal for signal in Signal if signal is not Signal.INSTALL_FAILURE)
"""The signals judged after the install, treated against control."""


@dataclass(frozen=True)
class Cohort:
    """One cohort's count for one signal: terminals observed, and those with at least one event."""

    terminals: int
    affected: int

    def __post_init__(self) -> None:
        """Refuse counts that cannot be: affected terminals are some of the observed ones."""
        if not 0 <= self.affected <= self.terminals:
            raise ValueError(f"affected ({self.affected}) must be between 0 and terminals ({self.terminals})")

    @property
    def rate(self) -> float:
        """Share of observed terminals affected (0 when none is observed)."""
        return self.affected / self.terminals if self.terminals else 0.0


@dataclass(frozen=True)
class WaveObservation:
    """What is known of one wave when it is judged."""

    targeted: int
    """Terminals in the wave (cumulative waves: only this wave's own terminals)."""
    installed: int
    failed: int
    """Final failures: permanent ones, or transient ones retried out."""
    treated: Mapping[Signal, Cohort]
    """The wave's installed terminals, each since its install; a signal absent is not judged."""
    control: Mapping[Signal, Cohort]
    """Not-yet-upgraded terminals of the same models over the same hours; absent or empty: the floor rule."""
    soaked: bool
    """The wave's minimum soak time has passed since it opened."""


@dataclass(frozen=True)
class GatePolicy:
    """How strict the gate is; the defaults are justified by ``bench/upgrades.py`` (docs/benchmarks.md)."""

    alpha: float = 0.0002
    """Chance that one decision halts on noise (family-wise, Holm across the signals tested); small
    because a wave is judged again every hour on growing counts."""
    min_relative_risk: float = 1.5
    """A health signal regresses only if the treated rate is at least this multiple of the control rate…"""
    min_absolute_rise: float = 0.005
    """…and at least this much above it (a share of terminals: 0.005 is half a percentage point)."""
    tolerated_install_failure: float = 0.01
    """Share of final install failures a healthy package may have (above the fleet's background of
    terminals without space or on the wrong model); a significantly higher share halts."""
    install_failure_ceiling: float = 0.05
    """Final failures over the wave's targets above which the wave halts, significant or not."""
    success_threshold: float = 0.90
    """Share of the wave's targets installed before it may advance."""
    min_treated: int = 50
    """Treated terminals observed for every health signal before advancing (all installed if fewer)."""
    floor_rate: float = 0.10
    """Without control data, a health signal regresses when its treated rate is significantly above this."""


class Verdict(StrEnum):
    """What the campaign does with a wave."""

    WAIT = "wait"
    ADVANCE = "advance"
    HALT = "halt"


@dataclass(frozen=True)
class SignalTest:
    """One signal's test: rates compared, the Holm-adjusted p-value, and whether it regressed.

    ``control_rate`` is the reference: the control cohort's rate, the floor rate without control,
    or the tolerated failure rate for install failures.
    """

    signal: Signal
    treated_rate: float
    control_rate: float
    p_value: float
    regressed: bool


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict on one wave, with every test behind it."""

    verdict: Verdict
    tests: tuple[SignalTest, ...]
    halted_on: Signal | None
    """The strongest regressed signal (smallest p-value) when halted, None otherwise."""


def _holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def judge_wave(observation: WaveObservation, policy: GatePolicy = GatePolicy()) -> GateDecision:
    """Halt on any regression, advance a soaked wave installed and observed enough, otherwise wait."""
    # (signal, treated rate, reference rate, raw p-value, whether the difference is practical, forced)
    raw: list[tuple[Signal, float, float, float, bool, bool]] = []
    finished = observation.installed + observation.failed
    if finished:
        tolerated = policy.tolerated_install_failure
        p = binomtest(observation.failed, finished, tolerated, alternative="greater").pvalue
        ceiling = observation.failed > policy.install_failure_ceiling * observation.targeted
        raw.append((Signal.INSTALL_FAILURE, observation.failed / finished, tolerated, float(p), True, ceiling))
    for signal in HEALTH_SIGNALS:
        treated = observation.treated.get(signal)
        if treated is None or not treated.terminals:
            continue
        control = observation.control.get(signal)
        if control is None or not control.terminals:
            p = binomtest(treated.affected, treated.terminals, policy.floor_rate, alternative="greater").pvalue
            raw.append((signal, treated.rate, policy.floor_rate, float(p), True, False))
            continue
        table = [[treated.affected, treated.terminals - treated.affected],
                 [control.affected, control.terminals - control.affected]]
        p = fisher_exact(table, alternative="greater").pvalue
        practical = (treated.rate >= control.rate * policy.min_relative_risk
                     and treated.rate - control.rate >= policy.min_absolute_rise)
        raw.append((signal, treated.rate, control.rate, float(p), practical, False))

    adjusted = _holm([entry[3] for entry in raw])
    tests = tuple(SignalTest(signal, treated_rate, reference, p_adjusted,
                             forced or (practical and p_adjusted < policy.alpha))
                  for (signal, treated_rate, reference, _, practical, forced), p_adjusted in zip(raw, adjusted,
                                                                                                strict=True))
    regressed = [test for test in tests if test.regressed]
    if regressed:
        strongest = min(regressed, key=lambda test: (test.p_value, test.control_rate - test.treated_rate))
        return GateDecision(Verdict.HALT, tests, strongest.signal)

    share = observation.installed / observation.targeted if observation.targeted else 1.0
    required = min(policy.min_treated, observation.installed)
    observed = all(cohort.terminals >= required for signal, cohort in observation.treated.items()
                   if signal in HEALTH_SIGNALS)
    if observation.soaked and share >= policy.success_threshold and observed:
        return GateDecision(Verdict.ADVANCE, tests, None)
    return GateDecision(Verdict.WAIT, tests, None)
