"""Upgrade campaigns under posops's health gate and under hawkBit's error-threshold rule, in one run.

An in-process simulation of ``--terminals`` terminals (default 100,000) of five models in ten
regions, in hourly steps. Every campaign runs the waves of ``DEFAULT_WAVES`` (1, 10, 50, 100 %)
with a soak of ``DEFAULT_SOAK`` (4 h); both policies see the same simulated world (the same
terminals, the same events, the same hours at which each terminal picks its offer up):

* ``posops`` — :func:`posops.upgrades.gate.judge_wave` every hour on the open wave: its install
  failures, and its upgraded terminals since their install against the terminals of the same
  models not yet upgraded, over the same hours (the control).
* ``hawkBit`` — a wave (rollout group) fails when its final install failures exceed 5 % of the
  group, which pauses the whole campaign; it advances when the installed share reaches the
  success threshold (the gate's ``success_threshold``) after the same soak. It never looks at health.

The world: terminals install only in the 01:00–05:00 maintenance window, picking the offer up
with probability 0.7 an hour; 3 % are powered off all campaign (never install, never observed);
each attempt fails transiently with probability 0.05 (offered again up to ``MAX_ATTEMPTS``),
0.5 % of terminals fail every attempt (no space) and 0.1 % fail permanently (model mismatch).
Shops open at 07:00–10:00 and close at 20:00–22:00; a terminal signs in when its shop opens.
Health events, each at its own rate per opportunity, varied per model and per terminal (gamma,
shape 0.5: a few flaky terminals carry much of each signal): sign-in failures (per daily
sign-in), terminal-caused declines and timeouts (per open hour), heartbeat loss (an hour
offline) and restarts (per hour); carrier outages hit a region for an hour with timeouts and
heartbeat loss on 40 % of its terminals, treated and control alike.

Scenarios, in one run, each on ``--campaigns`` worlds (seeds from ``--seed``):
(a) a bad version — installs fine, 15 % of the upgraded terminals fail every sign-in;
(b) a broken install on one model (every attempt fails, retried to ``MAX_ATTEMPTS``), for a
    model of 20 % of the fleet and for one of 4 %: terminals that received it before the halt;
(c) a good version: false halts, and hours to 100 %.
``--policy FIELD=VALUE`` replaces a default of ``GatePolicy``.

    .venv/bin/python bench/upgrades.py
    .venv/bin/python bench/upgrades.py --terminals 5000 --campaigns 200 --seed 7
    .venv/bin/python bench/upgrades.py --terminals 5000 --policy alpha=0.001 --policy min_treated=0
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from posops.upgrades.gate import HEALTH_SIGNALS, Cohort, GatePolicy, Signal, Verdict, WaveObservation, judge_wave
from posops.upgrades.steps import MAX_ATTEMPTS
from posops.upgrades.waves import DEFAULT_SOAK, DEFAULT_WAVES, wave_sizes

HORIZON = 24 * 14
"""Hours a campaign may run before it counts as unfinished."""
START_HOUR = 10
"""Local hour at which every campaign starts (all terminals in one time zone)."""
MAINTENANCE = frozenset({1, 2, 3, 4})
"""Local hours of the maintenance window (01:00–05:00)."""
SOAK = int(DEFAULT_SOAK.total_seconds() // 3600)
INF = np.int32(1 << 30)

MODEL_SHARES = np.array([0.36, 0.28, 0.20, 0.12, 0.04])
MODEL_FACTORS = np.array([1.0, 1.2, 0.8, 1.5, 1.1])
"""Each model's multiplier on every health rate."""
REGIONS = 10
OFFLINE = 0.03
PICKUP = 0.7
TRANSIENT = 0.05
STUCK = 0.005
MISMATCH = 0.001
OUTAGE_PER_REGION_HOUR = 0.002
OUTAGE_HIT = 0.4
BAD_SIGN_IN = 0.15
HAWKBIT_ERROR_THRESHOLD = 0.05

SIGN_IN, TRAFFIC, ALWAYS = "sign_in", "traffic", "always"
RATES: dict[Signal, tuple[float, str]] = {
    Signal.SIGN_IN_FAILURE: (0.006, SIGN_IN),
    Signal.DECLINES: (0.0004, TRAFFIC),
    Signal.TIMEOUTS: (0.0008, TRAFFIC),
    Signal.HEARTBEAT_LOSS: (0.0003, ALWAYS),
    Signal.RESTARTS: (0.0002, ALWAYS),
}
"""Mean rate of each health event per opportunity, and what an opportunity is."""
OUTAGE_SIGNALS = (Signal.TIMEOUTS, Signal.HEARTBEAT_LOSS)

PENDING, OFFERED, INSTALLED, FAILED = 0, 1, 2, 3


@dataclass
class World:
    """One simulated fleet and everything that will happen to it, whatever the policy."""

    seed: int
    model: np.ndarray
    opens: np.ndarray
    closes: np.ndarray
    online: np.ndarray
    stuck: np.ndarray
    mismatch: np.ndarray
    attempt_draws: np.ndarray
    bad_sign_in: np.ndarray
    events: dict[Signal, np.ndarray]
    """Per signal, sorted keys ``terminal * (HORIZON + 1) + hour`` of the hours with an event."""

    @property
    def size(self) -> int:
        """Terminals in the fleet."""
        return len(self.model)


def make_world(terminals: int, seed: int) -> World:
    """A fleet in random order (the waves' hash order) with its attributes and health events."""
    rng = np.random.default_rng(seed)
    model = rng.choice(len(MODEL_SHARES), size=terminals, p=MODEL_SHARES)
    region = rng.integers(0, REGIONS, terminals)
    opens = rng.integers(7, 11, terminals)
    closes = rng.integers(20, 23, terminals)
    online = rng.random(terminals) >= OFFLINE
    days = (HORIZON + START_HOUR) // 24 + 1
    outages = rng.random((REGIONS, HORIZON)) < OUTAGE_PER_REGION_HOUR
    events = {}
    for signal, (rate, kind) in RATES.items():
        if kind == TRAFFIC:
            opportunities = days * (closes - opens)
        else:
            opportunities = np.full(terminals, days if kind == SIGN_IN else HORIZON)
        mean = rate * MODEL_FACTORS[model] * rng.gamma(0.5, 2.0, terminals) * opportunities
        counts = np.where(online, rng.poisson(mean), 0)
        who = np.repeat(np.arange(terminals), counts)
        if kind == ALWAYS:
            hour = rng.integers(0, HORIZON, who.size)
        else:
            day = rng.integers(0, days, who.size)
            local = opens[who] if kind == SIGN_IN else opens[who] + (rng.random(who.size)
                                                                    * (closes - opens)[who]).astype(np.int64)
            hour = 24 * day + local - START_HOUR
        parts_who, parts_hour = [who], [hour]
        if signal in OUTAGE_SIGNALS:
            for r, t in zip(*np.nonzero(outages), strict=True):
                hit = np.flatnonzero((region == r) & online & (rng.random(terminals) < OUTAGE_HIT))
                if signal is Signal.TIMEOUTS:
                    local_hour = (t + START_HOUR) % 24
                    hit = hit[(opens[hit] <= local_hour) & (local_hour < closes[hit])]
                parts_who.append(hit)
                parts_hour.append(np.full(hit.size, t))
        who, hour = np.concatenate(parts_who), np.concatenate(parts_hour)
        keep = (hour >= 0) & (hour < HORIZON)
        events[signal] = np.unique(who[keep].astype(np.int64) * (HORIZON + 1) + hour[keep])
    return World(seed=seed, model=model, opens=opens, closes=closes, online=online,
                 stuck=rng.random(terminals) < STUCK, mismatch=rng.random(terminals) < MISMATCH,
                 attempt_draws=rng.random((terminals, MAX_ATTEMPTS)), bad_sign_in=rng.random(terminals) < BAD_SIGN_IN,
                 events=events)


def first_event(world: World, signal: Signal, who: np.ndarray, start: int) -> np.ndarray:
    """Hour of each terminal's first event of ``signal`` at or after ``start`` (INF if none)."""
    keys = world.events[signal]
    if not keys.size:
        return np.full(who.size, INF, dtype=np.int32)
    wanted = who.astype(np.int64) * (HORIZON + 1) + start
    found = keys[np.minimum(np.searchsorted(keys, wanted), keys.size - 1)]
    hit = (found >= wanted) & (found // (HORIZON + 1) == who)
    return np.where(hit, found % (HORIZON + 1), INF).astype(np.int32)


def observed_from(world: World, signal: Signal, who: np.ndarray, start: int) -> np.ndarray:
    """Hour from which each terminal counts as observed for ``signal`` in a window opening at ``start``."""
    kind = RATES[signal][1]
    local = (start + START_HOUR) % 24
    opens, closes = world.opens[who], world.closes[who]
    if kind == ALWAYS:
        hour = np.full(who.size, start)
    elif kind == SIGN_IN:
        hour = start + (opens - local) % 24
    else:
        hour = np.where((opens <= local) & (local < closes), start, start + (opens - local) % 24)
    return np.where(world.online[who], hour, INF).astype(np.int32)


@dataclass
class Outcome:
    """How one campaign ended under one policy."""

    halted_at: int | None = None
    halted_on: str | None = None
    halted_wave: int | None = None
    done_at: int | None = None
    received: int = 0
    min_p_practical: list[float] = field(default_factory=lambda: [1.0] * len(DEFAULT_WAVES))
    """Per wave, the smallest Holm-adjusted p-value of a practically large difference in its decisions."""
    min_p_any: list[float] = field(default_factory=lambda: [1.0] * len(DEFAULT_WAVES))
    """The same, margins ignored."""


def run(world: World, policy: str, *, broken_model: int | None = None, bad: bool = False,
        gate: GatePolicy = GatePolicy()) -> Outcome:
    """Run one campaign under ``posops`` or ``hawkbit`` until it completes, halts or runs out of time."""
    n = world.size
    sizes = wave_sizes(n, DEFAULT_WAVES)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    status = np.zeros(n, dtype=np.int8)
    attempts = np.zeros(n, dtype=np.int8)
    health = policy == "posops"
    treated_seen = {s: np.full(n, INF, dtype=np.int32) for s in HEALTH_SIGNALS}
    treated_first = {s: np.full(n, INF, dtype=np.int32) for s in HEALTH_SIGNALS}
    control: dict[Signal, tuple[np.ndarray, np.ndarray]] | None = None
    outcome = Outcome()
    wave, opened = 0, 0
    status[bounds[0]:bounds[1]] = OFFERED
    for t in range(HORIZON):
        lo, hi = int(bounds[wave]), int(bounds[wave + 1])
        if (t + START_HOUR) % 24 in MAINTENANCE:
            draws = np.random.default_rng([world.seed, t]).random(n)
            who = np.flatnonzero((status == OFFERED) & world.online & (draws < PICKUP))
            tried = attempts[who]
            attempts[who] += 1
            fails = (world.mismatch[who] | world.stuck[who]
                     | (world.attempt_draws[who, tried] < TRANSIENT))
            if broken_model is not None:
                fails |= world.model[who] == broken_model
            final = world.mismatch[who] | (fails & (attempts[who] >= MAX_ATTEMPTS))
            new = who[~fails]
            status[new] = INSTALLED
            status[who[final]] = FAILED
            if health and new.size:
                for s in HEALTH_SIGNALS:
                    treated_seen[s][new] = observed_from(world, s, new, t)
                    treated_first[s][new] = first_event(world, s, new, t)
                if bad:
                    sick = new[world.bad_sign_in[new]]
                    treated_first[Signal.SIGN_IN_FAILURE][sick] = treated_seen[Signal.SIGN_IN_FAILURE][sick]
                if control is None and np.any(status[lo:hi] == INSTALLED):
                    everyone = np.arange(n)
                    control = {s: (observed_from(world, s, everyone, t), first_event(world, s, everyone, t))
                               for s in HEALTH_SIGNALS}
                    upgraded = status == INSTALLED
                    for seen, first in control.values():
                        seen[upgraded], first[upgraded] = INF, INF
                elif control is not None:
                    for seen, first in control.values():
                        seen[new], first[new] = INF, INF

        targeted = hi - lo
        installed = int(np.count_nonzero(status[lo:hi] == INSTALLED))
        failed = int(np.count_nonzero(status[lo:hi] == FAILED))
        soaked = t + 1 - opened >= SOAK
        if health:
            verdict, halted_on = judge(world, gate, t, lo, hi, status, installed, failed, soaked,
                                       treated_seen, treated_first, control, outcome, wave)
        elif failed > HAWKBIT_ERROR_THRESHOLD * targeted:
            verdict, halted_on = Verdict.HALT, Signal.INSTALL_FAILURE.value
        elif soaked and installed >= gate.success_threshold * targeted:
            verdict, halted_on = Verdict.ADVANCE, None
        else:
            verdict, halted_on = Verdict.WAIT, None

        if verdict is Verdict.HALT:
            outcome.halted_at, outcome.halted_on, outcome.halted_wave = t + 1, halted_on, wave
            break
        if verdict is Verdict.ADVANCE:
            if wave == len(sizes) - 1:
                outcome.done_at = t + 1
                break
            wave, opened, control = wave + 1, t + 1, None
            status[bounds[wave]:bounds[wave + 1]] = OFFERED
    outcome.received = int(np.count_nonzero(attempts))
    return outcome


def judge(world: World, gate: GatePolicy, t: int, lo: int, hi: int, status: np.ndarray, installed: int,
          failed: int, soaked: bool, treated_seen: dict[Signal, np.ndarray], treated_first: dict[Signal, np.ndarray],
          control: dict[Signal, tuple[np.ndarray, np.ndarray]] | None, outcome: Outcome,
          wave: int) -> tuple[Verdict, str | None]:
    """posops's decision on the open wave at the end of hour ``t``, noting how close noise came to a halt."""
    treated = {s: Cohort(int(np.count_nonzero(treated_seen[s][lo:hi] <= t)),
                         int(np.count_nonzero(treated_first[s][lo:hi] <= t))) for s in HEALTH_SIGNALS}
    controls: dict[Signal, Cohort] = {}
    if control is not None:
        upgraded = world.model[lo:hi][status[lo:hi] == INSTALLED]
        present = np.bincount(upgraded, minlength=len(MODEL_SHARES)) > 0
        same = None if present.all() else present[world.model]
        for s, (seen, first) in control.items():
            seen_now, hit_now = seen <= t, first <= t
            if same is not None:
                seen_now, hit_now = seen_now & same, hit_now & same
            controls[s] = Cohort(int(np.count_nonzero(seen_now)), int(np.count_nonzero(hit_now)))
    decision = judge_wave(WaveObservation(targeted=hi - lo, installed=installed, failed=failed, treated=treated,
                                          control=controls, soaked=soaked), gate)
    for test in decision.tests:
        outcome.min_p_any[wave] = min(outcome.min_p_any[wave], test.p_value)
        large = test.signal is Signal.INSTALL_FAILURE or test.signal not in controls or (
            test.treated_rate >= test.control_rate * gate.min_relative_risk
            and test.treated_rate - test.control_rate >= gate.min_absolute_rise)
        if large:
            outcome.min_p_practical[wave] = min(outcome.min_p_practical[wave], test.p_value)
    return decision.verdict, decision.halted_on.value if decision.halted_on else None


def both(world: World, *, gate: GatePolicy, broken_model: int | None = None, bad: bool = False) -> dict[str, Outcome]:
    """The same world's campaign under each policy."""
    return {policy: run(world, policy, broken_model=broken_model, bad=bad, gate=gate)
            for policy in ("posops", "hawkbit")}


SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("(a) bad version: 15 % fail sign-in", {"bad": True}),
    (f"(b) install broken on a model of {MODEL_SHARES[2]:.0%}", {"broken_model": 2}),
    (f"(b) install broken on a model of {MODEL_SHARES[4]:.0%}", {"broken_model": 4}),
    ("(c) good version", {}),
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run every scenario on ``--campaigns`` worlds under both policies and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terminals", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", action="append", default=[], metavar="FIELD=VALUE",
                        help="a GatePolicy field instead of its default, e.g. alpha=0.001 (repeatable)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    defaults = GatePolicy()
    overrides = dict(item.split("=", 1) for item in args.policy)
    gate = replace(defaults, **{name: type(getattr(defaults, name))(value) for name, value in overrides.items()})
    sizes = wave_sizes(args.terminals, DEFAULT_WAVES)
    print(f"{args.terminals:,} terminals, waves {list(DEFAULT_WAVES)} % = {sizes} terminals, soak {SOAK} h, "
          f"{args.campaigns} campaigns per scenario (seeds {args.seed}…{args.seed + args.campaigns - 1})\n{gate}")

    results: dict[str, dict[str, list[Outcome]]] = {label: {"posops": [], "hawkbit": []} for label, _ in SCENARIOS}
    for index in range(args.campaigns):
        world = make_world(args.terminals, args.seed + index)
        for label, scenario in SCENARIOS:
            for policy, outcome in both(world, gate=gate, **scenario).items():
                results[label][policy].append(outcome)

    print("\n| scenario | policy | halted | in the canary | hour of halt: median | received it: median | max "
          "| posops / hawkBit (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, _ in SCENARIOS[:-1]:
        by_policy = results[label]
        medians = {policy: statistics.median(o.received for o in outcomes) for policy, outcomes in by_policy.items()}
        for policy, outcomes in by_policy.items():
            halts = [o for o in outcomes if o.halted_at is not None]
            canary = sum(o.halted_wave == 0 for o in halts)
            hour = f"{statistics.median(o.halted_at for o in halts if o.halted_at):g}" if halts else "—"
            ratio = f"**{medians['posops'] / max(medians['hawkbit'], 1):.4f}**" if policy == "posops" else ""
            print(f"| {label} | {policy} | {len(halts)} | {canary} | {hour} | {medians[policy]:,.0f} "
                  f"| {max(o.received for o in outcomes):,} | {ratio} |")

    good = results[SCENARIOS[-1][0]]
    print("\n| (c) good version | false halts | unfinished | hours to 100 %: median | max |")
    print("|---|---|---|---|---|")
    for policy, outcomes in good.items():
        false_halts = sum(o.halted_at is not None for o in outcomes)
        done = [o.done_at for o in outcomes if o.done_at is not None]
        median = f"{statistics.median(done):g}" if done else "—"
        print(f"| {policy} | {false_halts} | {len(outcomes) - false_halts - len(done)} | {median} "
              f"| {max(done, default=0)} |")
    posops = good["posops"]
    closest = [min(o.min_p_practical) for o in posops]
    unmargined = [min(o.min_p_any) for o in posops]
    print(f"\nposops, good version: smallest Holm-adjusted p of a practically large difference {min(closest):.3g}; "
          "campaigns a larger alpha would have halted: "
          + ", ".join(f"{a:g}: {sum(p < a for p in closest)}" for a in (0.0005, 0.001, 0.005, 0.01)
                      if a > gate.alpha))
    print(f"margins ignored: smallest p {min(unmargined):.3g}; would have halted at alpha "
          + ", ".join(f"{a:g}: {sum(p < a for p in unmargined)}" for a in sorted({gate.alpha, 0.001, 0.01})))
    reasons = sorted({o.halted_on for o in posops if o.halted_on})
    if reasons:
        print(f"false halts on: {reasons}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{time.perf_counter() - began:.1f} s, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
