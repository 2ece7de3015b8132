"""Reliability figures of terminals: failures, MTTR, MTBF and failures per 100 terminal-years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from posops.tickets.reliability import GroupBy, Reliability, Repair, ServicePeriod, reliability

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2023, 1, 31, tzinfo=UTC)  # 30 days: 720 hours
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2023, 1, day, hour, tzinfo=UTC)


def run(periods: list[ServicePeriod], repairs: list[Repair], group_by: GroupBy = GroupBy.TERMINAL) -> list[Reliability]:
    return reliability(periods, repairs, group_by=group_by, window_start=START, window_end=END)


def test_mttr_is_the_mean_of_request_to_repair_hours() -> None:
    periods = [ServicePeriod(1, "A920", "east", LONG_AGO)]
    # 3 h and 26 h 20 min: mean 14 h 40 min
    repairs = [Repair(1, at(3, 9), at(3, 12)), Repair(1, at(10, 8), at(11, 10) + timedelta(minutes=20))]
    [row] = run(periods, repairs)
    assert (row.failures, row.repaired, row.mttr_hours) == (2, 2, 14.7)


def test_unfinished_and_preventive_repairs_are_left_out_of_mttr_and_preventive_out_of_failures() -> None:
    periods = [ServicePeriod(1, "A920", "east", LONG_AGO)]
    repairs = [
        Repair(1, at(3, 9), at(3, 13)),  # 4 h
        Repair(1, at(12, 9), None),  # still open: a failure, but no repair time yet
        Repair(1, at(20, 9), at(25, 9), corrective=False),  # preventive: 120 h, must not count
    ]
    [row] = run(periods, repairs)
    assert (row.failures, row.repaired, row.mttr_hours) == (2, 1, 4.0)
    assert row.mtbf_hours == 360.0


def test_mttr_is_none_when_no_failure_is_finished() -> None:
    [row] = run([ServicePeriod(1, "A920", "east", LONG_AGO)], [Repair(1, at(3), None)])
    assert (row.failures, row.mttr_hours, row.mtbf_hours) == (1, None, 720.0)


def test_mtbf_counts_operating_time_from_entry_into_service_to_decommissioning() -> None:
    periods = [
        ServicePeriod(1, "A920", "east", LONG_AGO),  # whole window: 720 h
        ServicePeriod(2, "A920", "east", at(21)),  # entered service mid-window: 10 days, 240 h
        ServicePeriod(3, "A920", "east", LONG_AGO, in_service_to=at(6)),  # decommissioned: 5 days, 120 h
    ]
    repairs = [Repair(1, at(2), at(3)), Repair(2, at(25), at(26)), Repair(3, at(4), at(5))]
    rows = run(periods, repairs, GroupBy.MODEL)
    assert [(r.group, r.terminals, r.failures, r.operating_hours) for r in rows] == [("A920", 3, 3, 1080.0)]
    assert rows[0].mtbf_hours == 360.0
    # 3 failures in 1080 h; 1080 h is 1080/8760 terminal-years
    assert rows[0].failures_per_100_terminal_years == round(100 * 3 * 8760 / 1080, 2) == 2433.33
    per_terminal = run(periods, repairs)
    assert [(r.group, r.operating_hours, r.mtbf_hours) for r in per_terminal] == [
        ("1", 720.0, 720.0),
        ("2", 240.0, 240.0),
        ("3", 120.0, 120.0),
    ]


def test_failures_outside_the_window_or_the_service_period_do_not_count() -> None:
    periods = [ServicePeriod(1, "A920", "east", at(10), in_service_to=at(20))]
    repairs = [
        Repair(1, datetime(2022, 12, 31, 23, tzinfo=UTC), at(1)),  # before the window
        Repair(1, at(5), at(6)),  # in the window, before the terminal entered service
        Repair(1, at(15), at(16)),  # counts
        Repair(1, END, None),  # the window end is excluded
    ]
    [row] = run(periods, repairs)
    assert (row.failures, row.operating_hours, row.mtbf_hours) == (1, 240.0, 240.0)


def test_a_group_with_no_failures_has_no_mtbf_and_a_zero_rate() -> None:
    periods = [ServicePeriod(1, "A920", "east", LONG_AGO), ServicePeriod(2, "V200", "east", LONG_AGO)]
    rows = run(periods, [Repair(1, at(3), at(4)), Repair(2, at(3), at(4), corrective=False)], GroupBy.MODEL)
    assert [(r.group, r.failures) for r in rows] == [("A920", 1), ("V200", 0)]
    quiet = rows[1]
    assert (quiet.mtbf_hours, quiet.mttr_hours, quiet.failures_per_100_terminal_years) == (None, None, 0.0)
    assert quiet.operating_hours == 720.0


def test_group_by_model_adds_up_terminals_of_the_same_model() -> None:
    periods = [
        ServicePeriod(1, "A920", "east", LONG_AGO),
        ServicePeriod(2, "A920", "west", LONG_AGO),
        ServicePeriod(3, "V200", "east", LONG_AGO),
    ]
    repairs = [Repair(1, at(2, 8), at(2, 10)), Repair(2, at(9, 8), at(9, 14)), Repair(3, at(9, 8), at(9, 9))]
    rows = run(periods, repairs, GroupBy.MODEL)
    assert [(r.group, r.terminals, r.failures, r.operating_hours, r.mttr_hours, r.mtbf_hours) for r in rows] == [
        ("A920", 2, 2, 1440.0, 4.0, 720.0),
        ("V200", 1, 1, 720.0, 1.0, 720.0),
    ]


def test_group_by_region() -> None:
    periods = [
        ServicePeriod(1, "A920", "east", LONG_AGO),
        ServicePeriod(2, "V200", "east", LONG_AGO),
        ServicePeriod(3, "A920", "west", LONG_AGO),
    ]
    repairs = [Repair(1, at(2), at(3)), Repair(2, at(4), at(5)), Repair(2, at(8), None)]
    rows = run(periods, repairs, GroupBy.REGION)
    assert [(r.group, r.terminals, r.failures, r.repaired, r.mtbf_hours) for r in rows] == [
        ("east", 2, 3, 2, 480.0),
        ("west", 1, 0, 0, None),
    ]


def test_a_redeployed_terminal_counts_once_and_its_failure_goes_to_the_region_it_was_in() -> None:
    periods = [
        ServicePeriod(1, "A920", "east", LONG_AGO, in_service_to=at(11)),
        ServicePeriod(1, "A920", "west", at(11)),
    ]
    rows = run(periods, [Repair(1, at(15), at(16))], GroupBy.REGION)
    assert [(r.group, r.failures, r.operating_hours) for r in rows] == [("east", 0, 240.0), ("west", 1, 480.0)]
    [model] = run(periods, [Repair(1, at(15), at(16))], GroupBy.MODEL)
    assert (model.terminals, model.operating_hours) == (1, 720.0)


def test_terminal_groups_sort_by_id_and_terminals_out_of_service_are_left_out() -> None:
    periods = [
        ServicePeriod(10, "A920", "east", LONG_AGO),
        ServicePeriod(9, "A920", "east", LONG_AGO),
        ServicePeriod(8, "A920", "east", LONG_AGO, in_service_to=START),
    ]
    assert [r.group for r in run(periods, [])] == ["9", "10"]


def test_other_time_zones_are_accepted() -> None:
    beijing = timezone(timedelta(hours=8))
    periods = [ServicePeriod(1, "A920", "east", LONG_AGO)]
    repair = Repair(1, datetime(2023, 1, 3, 17, tzinfo=beijing), datetime(2023, 1, 3, 12, tzinfo=UTC))  # 3 h
    [row] = run(periods, [repair])
    assert row.mttr_hours == 3.0


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Repair(1, datetime(2023, 1, 3, 9), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        ServicePeriod(1, "A920", "east", datetime(2022, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        reliability([], [], group_by=GroupBy.MODEL, window_start=datetime(2023, 1, 1), window_end=END)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_end"):
        reliability([], [], group_by=GroupBy.MODEL, window_start=END, window_end=END)


def test_a_repair_of_an_unknown_terminal_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown terminal 2"):
        run([ServicePeriod(1, "A920", "east", LONG_AGO)], [Repair(2, at(3), at(4))])


def test_a_repair_done_before_it_was_requested_is_refused() -> None:
    with pytest.raises(ValueError, match="before it was requested"):
        Repair(1, at(4), at(3))


def test_overlapping_service_periods_of_one_terminal_are_refused() -> None:
    periods = [ServicePeriod(1, "A920", "east", LONG_AGO), ServicePeriod(1, "A920", "west", at(11))]
    with pytest.raises(ValueError, match="overlap"):
        run(periods, [])
