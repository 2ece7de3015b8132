"""The health gate: noise passes, a real regression halts with few terminals, a clean soaked wave advances."""

from __future__ import annotations

import random

import pytest
from scipy.stats import fisher_exact

from posops.upgrades.gate import (
    HEALTH_SIGNALS,
    Cohort,
    GatePolicy,
    Signal,
    Verdict,
    WaveObservation,
    judge_wave,
)

BASE_RATES = {
    Signal.SIGN_IN_FAILURE: 0.015,
    Signal.DECLINES: 0.01,
    Signal.TIMEOUTS: 0.02,
    Signal.HEARTBEAT_LOSS: 0.03,
    Signal.RESTARTS: 0.005,
}
"""Share of terminals with at least one event in a window, in a healthy fleet."""


def draw(rng: random.Random, terminals: int, rate: float) -> Cohort:
    return Cohort(terminals, sum(rng.random() < rate for _ in range(terminals)))


def cohorts(terminals: int, affected: int = 0, **overrides: Cohort) -> dict[Signal, Cohort]:
    counts = {signal: Cohort(terminals, affected) for signal in HEALTH_SIGNALS}
    counts.update({Signal(name): cohort for name, cohort in overrides.items()})
    return counts


def wave(treated: dict[Signal, Cohort], control: dict[Signal, Cohort], *, targeted: int | None = None,
         installed: int | None = None, failed: int = 0, soaked: bool = True) -> WaveObservation:
    size = max(c.terminals for c in treated.values())
    return WaveObservation(targeted=targeted if targeted is not None else size + failed,
                           installed=installed if installed is not None else size, failed=failed,
                           treated=treated, control=control, soaked=soaked)


def healthy_control(terminals: int = 5000) -> dict[Signal, Cohort]:
    return {signal: Cohort(terminals, round(terminals * rate)) for signal, rate in BASE_RATES.items()}


def noise_halts(size: int, seeds: range) -> int:
    """Halts over waves whose treated and control cohorts are drawn from the same healthy rates."""
    halts = 0
    for seed in seeds:
        rng = random.Random(seed * 7919 + size)
        treated = {signal: draw(rng, size, rate) for signal, rate in BASE_RATES.items()}
        control = {signal: draw(rng, 10 * size, rate) for signal, rate in BASE_RATES.items()}
        decision = judge_wave(wave(treated, control))
        assert all(0.0 <= test.p_value <= 1.0 for test in decision.tests)
        halts += decision.verdict is Verdict.HALT
    return halts


def test_noise_in_small_waves_halts_at_most_as_often_as_alpha_allows() -> None:
    # 600 decisions at alpha 2e-4 expect at most 0.12 false halts (Holm bounds each decision by alpha)
    assert GatePolicy().alpha * 600 < 0.2
    assert sum(noise_halts(size, range(200)) for size in (20, 50, 200)) <= 1


@pytest.mark.parametrize(("size", "seeds"), [(1000, 100), (5000, 30)])
def test_noise_in_large_waves_does_not_halt(size: int, seeds: int) -> None:
    assert noise_halts(size, range(seeds)) == 0


def test_noise_in_install_failures_does_not_halt() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        size = rng.choice([200, 1000, 9000])
        failed = sum(rng.random() < 0.006 for _ in range(size))
        decision = judge_wave(wave(cohorts(size - failed), {}, targeted=size, installed=size - failed, failed=failed))
        assert decision.verdict is not Verdict.HALT, (size, failed)


@pytest.mark.parametrize(("terminals", "affected"), [(30, 5), (40, 6), (50, 8)])
def test_one_in_seven_failing_sign_in_halts_a_small_canary(terminals: int, affected: int) -> None:
    treated = cohorts(terminals, 0, sign_in_failure=Cohort(terminals, affected))
    control = {signal: Cohort(5000, 50) for signal in HEALTH_SIGNALS}  # 1 % in the control
    decision = judge_wave(wave(treated, control, soaked=False))
    assert decision.verdict is Verdict.HALT
    assert decision.halted_on is Signal.SIGN_IN_FAILURE
    assert [test.signal for test in decision.tests if test.regressed] == [Signal.SIGN_IN_FAILURE]


def test_a_fifteen_percent_regression_is_usually_caught_by_a_canary_of_fifty() -> None:
    caught = 0
    for seed in range(200):
        rng = random.Random(seed)
        treated = {signal: draw(rng, 50, rate) for signal, rate in BASE_RATES.items()}
        treated[Signal.SIGN_IN_FAILURE] = draw(rng, 50, 0.15)
        control = {signal: draw(rng, 4950, rate) for signal, rate in BASE_RATES.items()}
        decision = judge_wave(wave(treated, control))
        caught += decision.halted_on is Signal.SIGN_IN_FAILURE
    assert caught > 100  # more often than not; a miss advances to a wave nine times larger, where it cannot hide


def test_install_failures_on_one_model_halt() -> None:
    # one model of five, a fifth of the wave, fails every install; the ceiling alone would stop it
    decision = judge_wave(wave(cohorts(790, 8), healthy_control(), targeted=1000, installed=790, failed=205))
    assert decision.verdict is Verdict.HALT
    assert decision.halted_on is Signal.INSTALL_FAILURE


def test_failures_under_the_ceiling_halt_when_significantly_above_the_tolerated_rate() -> None:
    # a model of 4 % failing: 46 final failures of 1,000 stays under the 5 % ceiling
    decision = judge_wave(wave(cohorts(930, 8), healthy_control(), targeted=1000, installed=930, failed=46))
    install = next(test for test in decision.tests if test.signal is Signal.INSTALL_FAILURE)
    assert GatePolicy().install_failure_ceiling * 1000 >= 46
    assert install.regressed and install.p_value < GatePolicy().alpha
    assert decision.verdict is Verdict.HALT


def test_the_ceiling_halts_a_small_wave_the_test_cannot_judge_yet() -> None:
    decision = judge_wave(wave(cohorts(18), {}, targeted=20, installed=18, failed=2))
    install = next(test for test in decision.tests if test.signal is Signal.INSTALL_FAILURE)
    assert install.p_value > GatePolicy().alpha
    assert decision.verdict is Verdict.HALT and decision.halted_on is Signal.INSTALL_FAILURE


def test_a_wave_below_the_success_threshold_waits() -> None:
    decision = judge_wave(wave(cohorts(80, 1), healthy_control(), targeted=100, installed=80))
    assert decision.verdict is Verdict.WAIT
    assert judge_wave(wave(cohorts(90, 1), healthy_control(), targeted=100, installed=90)).verdict is Verdict.ADVANCE


def test_a_soaked_clean_wave_advances_and_an_unsoaked_one_waits() -> None:
    clean = wave(cohorts(1000, 10), healthy_control(), failed=3)
    assert judge_wave(clean).verdict is Verdict.ADVANCE
    unsoaked = judge_wave(wave(cohorts(1000, 10), healthy_control(), failed=3, soaked=False))
    assert unsoaked.verdict is Verdict.WAIT and unsoaked.halted_on is None


def test_a_wave_waits_until_enough_upgraded_terminals_are_observed() -> None:
    # installed overnight: only 10 shops have opened and signed in since
    early = cohorts(1000, 5, sign_in_failure=Cohort(10, 0))
    assert judge_wave(wave(early, healthy_control(), installed=1000)).verdict is Verdict.WAIT
    # a wave smaller than min_treated needs all of its installed terminals observed
    assert judge_wave(wave(cohorts(5), healthy_control(), installed=5)).verdict is Verdict.ADVANCE
    assert judge_wave(wave(cohorts(5, sign_in_failure=Cohort(4, 0)), healthy_control(),
                           installed=5)).verdict is Verdict.WAIT


def test_trivial_differences_on_huge_cohorts_do_not_halt() -> None:
    treated = cohorts(200_000, 4000, sign_in_failure=Cohort(200_000, 4400))  # 2.2 % against 2.0 %
    control = cohorts(400_000, 8000)
    decision = judge_wave(wave(treated, control))
    sign_in = next(test for test in decision.tests if test.signal is Signal.SIGN_IN_FAILURE)
    assert sign_in.p_value < GatePolicy().alpha  # significant, but not large
    assert not sign_in.regressed and decision.verdict is Verdict.ADVANCE
    # three times as many restarts, but from 0.01 % to 0.03 % of terminals
    rare = judge_wave(wave(cohorts(1_000_000, 100, restarts=Cohort(1_000_000, 300)), cohorts(1_000_000, 100)))
    restarts = next(test for test in rare.tests if test.signal is Signal.RESTARTS)
    assert restarts.p_value < GatePolicy().alpha and not restarts.regressed


def test_a_practically_large_rise_on_a_big_wave_halts() -> None:
    treated = cohorts(40_000, 400, restarts=Cohort(40_000, 800))  # 2 % against 1 %
    decision = judge_wave(wave(treated, cohorts(50_000, 500)))
    assert decision.verdict is Verdict.HALT and decision.halted_on is Signal.RESTARTS


def test_without_control_health_is_judged_against_the_floor() -> None:
    floor = GatePolicy().floor_rate
    sick = judge_wave(wave(cohorts(200, 4, timeouts=Cohort(200, 40)), {}))
    timeouts = next(test for test in sick.tests if test.signal is Signal.TIMEOUTS)
    assert sick.halted_on is Signal.TIMEOUTS and timeouts.control_rate == floor
    # 6 % is far above what a control of 1 % allows, but under the floor
    assert judge_wave(wave(cohorts(200, 2, timeouts=Cohort(200, 12)), {})).verdict is Verdict.ADVANCE
    empty_control = {signal: Cohort(0, 0) for signal in HEALTH_SIGNALS}
    assert judge_wave(wave(cohorts(200, 2, timeouts=Cohort(200, 12)), empty_control)).verdict is Verdict.ADVANCE
    with_control = judge_wave(wave(cohorts(200, 2, timeouts=Cohort(200, 12)), cohorts(5000, 50)))
    assert with_control.halted_on is Signal.TIMEOUTS


def test_the_correction_for_several_signals_applies() -> None:
    policy = GatePolicy(alpha=0.001)
    sign_in, control = Cohort(200, 11), Cohort(10_000, 150)
    raw = fisher_exact([[11, 189], [150, 9850]], alternative="greater").pvalue
    assert policy.alpha / 6 < raw < policy.alpha / 2
    alone = judge_wave(wave({Signal.SIGN_IN_FAILURE: sign_in}, {Signal.SIGN_IN_FAILURE: control}), policy)
    assert alone.halted_on is Signal.SIGN_IN_FAILURE  # two tests: install failures and sign-in
    among_all = judge_wave(wave(cohorts(200, 2, sign_in_failure=sign_in), cohorts(10_000, 100,
                                                                                sign_in_failure=control)), policy)
    assert among_all.verdict is not Verdict.HALT
    assert next(t for t in among_all.tests if t.signal is Signal.SIGN_IN_FAILURE).p_value == pytest.approx(6 * raw)


def test_halted_on_is_the_strongest_regression() -> None:
    treated = cohorts(500, 5, sign_in_failure=Cohort(500, 40), restarts=Cohort(500, 90))
    decision = judge_wave(wave(treated, cohorts(20_000, 200)))
    assert {t.signal for t in decision.tests if t.regressed} == {Signal.SIGN_IN_FAILURE, Signal.RESTARTS}
    assert decision.halted_on is Signal.RESTARTS


def test_signals_not_reported_are_not_judged() -> None:
    treated = {Signal.SIGN_IN_FAILURE: Cohort(100, 1)}
    decision = judge_wave(wave(treated, healthy_control()))
    assert [test.signal for test in decision.tests] == [Signal.INSTALL_FAILURE, Signal.SIGN_IN_FAILURE]
    assert decision.verdict is Verdict.ADVANCE


def test_an_empty_wave_advances_once_soaked() -> None:
    empty = WaveObservation(targeted=0, installed=0, failed=0, treated={}, control={}, soaked=True)
    assert judge_wave(empty).verdict is Verdict.ADVANCE and judge_wave(empty).tests == ()


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="affected"):
        Cohort(terminals=10, affected=11)


def test_signal_words_are_stable() -> None:
    assert [s.value for s in Signal] == ["install_failure", "sign_in_failure", "declines", "timeouts",
                                         "heartbeat_loss", "restarts"]
    assert Signal.INSTALL_FAILURE not in HEALTH_SIGNALS and len(HEALTH_SIGNALS) == 5
