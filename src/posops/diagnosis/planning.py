"""Cost-aware troubleshooting: expected cost of repair and myopic value of information.

Follows Heckerman, Breese & Rommelse (1994), "Troubleshooting under uncertainty", with the
refinements of Langseth & Jensen (2003) for actions that fix several causes:

* ECR: repairs are ordered by P(repair fixes) / cost, where P(repair fixes) is the posterior
  mass of the causes it fixes; the ratio is recomputed after each assumed failure (the
  causes a failed repair fixes are removed). `escalate` fixes everything at a high cost, so
  it comes first only when nothing cheaper is likely.
* ECO(check) = cost + Σ_o P(o) · ECR(after o). The check whose ECO is lowest is made when
  it is below the ECR of repairing now; otherwise the first repair of the ECR order is done.
* Myopic value of information favours looking before a cheap try; as in SACSO, a check that
  wins is put off when doing the first repair and choosing again after it fails is expected
  to cost less.
* Speed: causes under ACTIVE_CAUSE are left out, and when many checks are informative only
  the MAX_CHECKS_VALUED with the most information (entropy reduction) per unit cost are valued.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from posops.diagnosis.inference import Model
from posops.diagnosis.vocabulary import StepKind

UNRESOLVED_PENALTY = 6000.0  # cost of a case no available repair can close (a new service call)
ACTIVE_CAUSE = 1e-3  # causes below this posterior are left out of planning (worth < 3 cost units)
RARE_OUTCOME = 0.02  # outcomes less likely than this are pooled when valuing a check
UNINFORMATIVE = 1.15  # a check whose likelihoods vary less than this across likely causes is skipped
LIKELY_CAUSE = 0.005  # causes below this share of the top cause do not make a check informative
MAX_CHECKS_VALUED = 8  # when more checks are informative, only those with most information per cost are valued


@dataclass(frozen=True)
class Decision:
    """The next step and what it is expected to cost."""

    kind: StepKind
    id: str
    expected_cost: float  # ECO of the check, or ECR when repairing now
    repair_now_cost: float  # ECR of repairing now, for comparison
    fix_probability: float  # for an action: P(it fixes); for a check: 0


@dataclass(frozen=True)
class _Plan:
    cost: tuple[float, ...]
    fixes: tuple[tuple[int, ...], ...]
    fixes_all: tuple[bool, ...]
    ids: tuple[int, ...]  # model action index of each local action
    fixed_by: tuple[tuple[int, ...], ...] = ()  # per local cause: the actions (not fixing all) that fix it


def _plan(
    cost: list[float] | tuple[float, ...],
    fixes: list[tuple[int, ...]] | tuple[tuple[int, ...], ...],
    fixes_all: list[bool] | tuple[bool, ...],
    ids: list[int] | tuple[int, ...],
    n_causes: int,
) -> _Plan:
    fixed_by: list[list[int]] = [[] for _ in range(n_causes)]
    for a, causes in enumerate(fixes):
        if not fixes_all[a]:
            for c in causes:
                fixed_by[c].append(a)
    return _Plan(tuple(cost), tuple(fixes), tuple(fixes_all), tuple(ids), tuple(tuple(f) for f in fixed_by))


def decide(
    model: Model,
    posterior: tuple[float, ...],
    actions: list[str],
    checks: list[str],
    likelihoods: Mapping[str, Mapping[str, list[float]]],
) -> Decision | None:
    """Choose the next step: the cheapest-in-expectation check, or the best repair.

    `actions` and `checks` are those still available; `likelihoods` gives P(outcome | cause)
    of each available check (already conditioned on what the words said about it).
    A check that beats repairing now is still put off when trying the first repair and
    checking afterwards is expected to cost less (the SACSO comparison of observation and
    repair orders): myopic value of information otherwise favours looking before a cheap try.
    """
    active = [c for c, p in enumerate(posterior) if p > ACTIVE_CAUSE]
    p = [posterior[c] for c in active]
    plan = _local_plan(model, active, actions)
    if not plan.ids:
        return None
    repair_now, first = _expected_cost_of_repair(plan, p)
    if first is None:
        return None
    tables = {
        check: {o: [column[c] for c in active] for o, column in likelihoods[check].items()} for check in checks
    }
    best = _best_check(model, plan, p, tables, repair_now)
    mass = sum(p)
    fixes = plan.fixes[first]
    fix_p = mass if plan.fixes_all[first] else sum(p[c] for c in fixes)
    if best is not None and not plan.fixes_all[first] and plan.cost[first] < best[0]:
        failed = list(p)
        for c in fixes:
            failed[c] = 0.0
        fail_p = 1.0 - fix_p / mass
        after = 0.0
        if sum(failed) > 0:
            rest = _without(plan, first)
            after, _ = _expected_cost_of_repair(rest, failed)
            # only a check that brings the cost after a failure below this can change the choice
            needed = (best[0] - plan.cost[first]) / fail_p if fail_p > 0 else after
            if plan.cost[first] + fail_p * after >= best[0] and needed > 0:
                later = _best_check(model, rest, failed, tables, min(after, needed))
                if later is not None:
                    after = later[0]
        act_first = plan.cost[first] + fail_p * after
        if act_first < best[0] - 1e-9:
            return Decision(StepKind.ACTION, model.actions[plan.ids[first]], act_first, repair_now, fix_p / mass)
    if best is not None:
        return Decision(StepKind.CHECK, best[1], best[0], repair_now, 0.0)
    return Decision(StepKind.ACTION, model.actions[plan.ids[first]], repair_now, repair_now, fix_p / mass)


def _best_check(
    model: Model, plan: _Plan, p: list[float], tables: Mapping[str, Mapping[str, list[float]]], bound: float
) -> tuple[float, str] | None:
    """Return (ECO, check) of the check with the lowest ECO below `bound`, if any."""
    best: tuple[float, str] | None = None
    candidates = [c for c, table in tables.items() if model.check_cost[c] < bound and _informative(table, p)]
    if len(candidates) > MAX_CHECKS_VALUED:
        gain = {c: _information_gain(tables[c], p) / model.check_cost[c] for c in candidates}
        candidates = sorted(candidates, key=lambda c: -gain[c])[:MAX_CHECKS_VALUED]
    for check in candidates:
        table = tables[check]
        cost = model.check_cost[check]
        if best is not None and cost >= best[0]:
            continue
        eco = cost + _expected_cost_after(plan, p, table)
        if eco < bound - 1e-9 and (best is None or eco < best[0] - 1e-12):
            best = (eco, check)
    return best


def _without(plan: _Plan, a: int) -> _Plan:
    keep = [i for i in range(len(plan.ids)) if i != a]
    return _plan(
        [plan.cost[i] for i in keep],
        [plan.fixes[i] for i in keep],
        [plan.fixes_all[i] for i in keep],
        [plan.ids[i] for i in keep],
        len(plan.fixed_by),
    )


def expected_repair_cost(model: Model, posterior: tuple[float, ...], actions: list[str]) -> float:
    """Return the ECR of repairing now with `actions`, given the posterior over causes."""
    active = [c for c, p in enumerate(posterior) if p > ACTIVE_CAUSE]
    return _expected_cost_of_repair(_local_plan(model, active, actions), [posterior[c] for c in active])[0]


def repair_order(model: Model, posterior: tuple[float, ...], actions: list[str]) -> list[tuple[str, float]]:
    """Return the ECR order of repairs with the probability that each one is the fix."""
    active = [c for c, p in enumerate(posterior) if p > ACTIVE_CAUSE]
    p = [posterior[c] for c in active]
    plan = _local_plan(model, active, actions)
    order = []
    remaining = p[:]
    pending = list(range(len(plan.ids)))
    while pending:
        scored = [(_fix_mass(plan, remaining, a) / plan.cost[a], a) for a in pending]
        ratio, best = max(scored, key=lambda x: x[0])
        if ratio <= 0:
            break
        order.append((model.actions[plan.ids[best]], _fix_mass(plan, remaining, best)))
        if plan.fixes_all[best]:
            break
        for c in plan.fixes[best]:
            remaining[c] = 0.0
        pending.remove(best)
    return order


def _local_plan(model: Model, active: list[int], actions: list[str]) -> _Plan:
    local = {c: i for i, c in enumerate(active)}
    ids, costs, fixes, fixes_all = [], [], [], []
    for name in actions:
        a = model.action_index[name]
        mine = tuple(local[c] for c in model.action_fixes[a] if c in local)
        if not mine:
            continue
        ids.append(a)
        costs.append(model.action_cost[a])
        fixes.append(mine)
        fixes_all.append(model.action_fixes_all[a])
    return _plan(costs, fixes, fixes_all, ids, len(active))


def _fix_mass(plan: _Plan, remaining: list[float], a: int) -> float:
    if plan.fixes_all[a]:
        return sum(remaining)
    return sum(remaining[c] for c in plan.fixes[a])


def _expected_cost_of_repair(plan: _Plan, p: list[float]) -> tuple[float, int | None]:
    """ECR of the p/c order with recomputation after each failure; returns (cost, first repair).

    `p` may be unnormalised; the cost is per unit of probability. Each repair's chance of
    fixing is kept up to date as the causes of failed repairs are removed.
    """
    mass = sum(p)
    if mass <= 0:
        return 0.0, None
    floor = mass * 1e-9
    cost, fixes, fixes_all, fixed_by = plan.cost, plan.fixes, plan.fixes_all, plan.fixed_by
    remaining = list(p)
    chance = [mass if fixes_all[a] else sum(p[c] for c in fixes[a]) for a in range(len(cost))]
    alive = [q > floor for q in chance]
    left = mass
    total = 0.0
    first = None
    while left > floor:
        best, best_ratio = -1, 0.0
        for a, ok in enumerate(alive):
            if ok:
                ratio = chance[a] / cost[a]
                if ratio > best_ratio:
                    best, best_ratio = a, ratio
        if best < 0:
            break
        total += cost[best] * left
        if first is None:
            first = best
        if fixes_all[best]:
            left = 0.0
            break
        alive[best] = False
        for c in fixes[best]:
            q = remaining[c]
            if q > 0.0:
                remaining[c] = 0.0
                left -= q
                for other in fixed_by[c]:
                    chance[other] -= q
                    if alive[other] and chance[other] <= floor:
                        alive[other] = False
        for a, everything in enumerate(fixes_all):
            if everything:
                chance[a] = left
    if left > floor:
        total += UNRESOLVED_PENALTY * left
    return total / mass, first


def _expected_cost_after(plan: _Plan, p: list[float], table: Mapping[str, list[float]]) -> float:
    """Σ_o P(o) · ECR(after o), pooling rare outcomes into one."""
    mass = sum(p)
    n = len(p)
    pooled = [0.0] * n
    result = 0.0
    for column in table.values():
        joint = [p[c] * column[c] for c in range(n)]
        share = sum(joint)
        if share < RARE_OUTCOME * mass:
            for c in range(n):
                pooled[c] += joint[c]
            continue
        result += share / mass * _expected_cost_of_repair(plan, joint)[0]
    share = sum(pooled)
    if share > 0:
        result += share / mass * _expected_cost_of_repair(plan, pooled)[0]
    return result


def _information_gain(table: Mapping[str, list[float]], p: list[float]) -> float:
    """Expected reduction of the entropy over causes from observing the check (in nats)."""
    mass = sum(p)
    prior = [q / mass for q in p]
    before = -sum(q * math.log(q) for q in prior if q > 0)
    after = 0.0
    for column in table.values():
        joint = [prior[c] * column[c] for c in range(len(p))]
        share = sum(joint)
        if share > 0:
            after -= sum(j * math.log(j / share) for j in joint if j > 0)
    return before - after


def _informative(table: Mapping[str, list[float]], p: list[float]) -> bool:
    """Tell whether the check's outcome depends noticeably on the likely causes."""
    top = max(p)
    likely = [c for c, q in enumerate(p) if q >= LIKELY_CAUSE * top]
    for column in table.values():
        values = [column[c] for c in likely]
        if max(values) > UNINFORMATIVE * min(values):
            return True
    return False
