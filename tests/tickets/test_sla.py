"""SLA deadlines in business time: weekends, China's holidays and make-up days, pauses, re-binding, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from posops.tickets.sla import (
    DEFAULT_TARGETS,
    BusinessCalendar,
    Priority,
    SlaClock,
    SlaTarget,
    breached,
    load_calendar,
    rebind,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
PLAIN = BusinessCalendar()
CHINA = load_calendar()


def sh(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def berlin(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# --- add: weekends, holidays, make-up days, starts outside hours -------------------------------------------------


def test_add_returns_utc() -> None:
    result = PLAIN.add(sh(2026, 3, 16, 10), 30)
    assert result.utcoffset() == timedelta(0)
    assert result == sh(2026, 3, 16, 10, 30)


def test_deadline_crossing_a_weekend_skips_saturday_and_sunday() -> None:
    # Friday 2026-03-13 16:00: two hours left on Friday, the third on Monday morning
    assert PLAIN.add(sh(2026, 3, 13, 16), 180) == sh(2026, 3, 16, 10)


def test_deadline_crossing_national_day_skips_the_whole_holiday() -> None:
    # Wednesday 2026-09-30 17:00 + 2h: 1h that evening, then 1-7 October closed, 1h on Thursday 8 October
    assert CHINA.add(sh(2026, 9, 30, 17), 120) == sh(2026, 10, 8, 10)
    assert PLAIN.add(sh(2026, 9, 30, 17), 120) == sh(2026, 10, 1, 10)


def test_deadline_crossing_qingming_skips_the_holiday_monday() -> None:
    # Friday 3 April 17:00; 4-6 April (Saturday to Monday) is 清明节, so the second hour falls on Tuesday
    assert CHINA.add(sh(2026, 4, 3, 17), 120) == sh(2026, 4, 7, 10)
    assert PLAIN.add(sh(2026, 4, 3, 17), 120) == sh(2026, 4, 6, 10)


def test_make_up_saturday_counts_as_a_working_day() -> None:
    # Saturday 2026-02-14 is worked (调休) before the Spring Festival; Saturday 2026-02-07 is not
    assert CHINA.is_open(sh(2026, 2, 14, 10))
    assert not CHINA.is_open(sh(2026, 2, 7, 10))
    assert CHINA.add(sh(2026, 2, 13, 17), 120) == sh(2026, 2, 14, 10)
    assert CHINA.between(sh(2026, 2, 14, 0), sh(2026, 2, 15, 0)) == 540


def test_make_up_sunday_opens_with_monday_hours() -> None:
    calendar = BusinessCalendar(hours={0: (time(8, 30), time(17, 0)), 4: (time(9, 0), time(18, 0))},
                                workdays=frozenset({date(2026, 9, 20)}))
    assert calendar.add(sh(2026, 9, 20, 7), 0) == sh(2026, 9, 20, 8, 30)
    assert calendar.between(sh(2026, 9, 20, 0), sh(2026, 9, 21, 0)) == 510


def test_spring_festival_deadline_uses_both_make_up_saturdays() -> None:
    # Friday 13 February 17:00: 60 min that Friday, 540 on Saturday 14, closed 15-23, then 24-27 February
    # (4 x 540): 2760 minutes end at Friday 27 18:00
    assert CHINA.add(sh(2026, 2, 13, 17), 2760) == sh(2026, 2, 27, 18)
    # one minute more spills onto the make-up Saturday 28 February, not onto Monday 2 March
    assert CHINA.add(sh(2026, 2, 13, 17), 2761) == sh(2026, 2, 28, 9, 1)


def test_start_in_the_evening_starts_at_the_next_opening() -> None:
    assert PLAIN.add(sh(2026, 3, 16, 20), 60) == sh(2026, 3, 17, 10)
    assert PLAIN.add(sh(2026, 3, 16, 20), 0) == sh(2026, 3, 17, 9)


def test_start_before_nine_starts_at_nine() -> None:
    assert PLAIN.add(sh(2026, 3, 16, 7, 30), 60) == sh(2026, 3, 16, 10)
    assert PLAIN.add(sh(2026, 3, 16, 7, 30), 0) == sh(2026, 3, 16, 9)


def test_zero_minutes_while_open_is_the_start_itself() -> None:
    assert PLAIN.add(sh(2026, 3, 16, 10, 15, 42), 0) == sh(2026, 3, 16, 10, 15, 42)


def test_closing_time_is_closed_but_a_span_may_end_exactly_there() -> None:
    assert not PLAIN.is_open(sh(2026, 3, 16, 18))
    assert PLAIN.is_open(sh(2026, 3, 16, 9))
    assert PLAIN.add(sh(2026, 3, 16, 18), 0) == sh(2026, 3, 17, 9)
    assert PLAIN.add(sh(2026, 3, 16, 17), 60) == sh(2026, 3, 16, 18)


def test_friday_evening_start_waits_for_monday() -> None:
    assert PLAIN.add(sh(2026, 3, 13, 19), 0) == sh(2026, 3, 16, 9)
    assert PLAIN.add(sh(2026, 3, 14, 12), 30) == sh(2026, 3, 16, 9, 30)


def test_long_target_walks_whole_days() -> None:
    # 10 business days from Monday 09:00 end at close on the Friday of the next week
    assert PLAIN.add(sh(2026, 3, 2, 9), 5400) == sh(2026, 3, 13, 18)
    # a year of business days still returns (day by day, not minute by minute)
    weekdays = sum((date(2026, 1, 5) + timedelta(days=n)).weekday() < 5 for n in range(361))
    assert PLAIN.add(sh(2026, 1, 5, 9), weekdays * 540) == sh(2026, 12, 31, 18)


def test_seconds_of_the_start_are_kept() -> None:
    assert PLAIN.add(sh(2026, 3, 16, 17, 59, 30), 1) == sh(2026, 3, 17, 9, 0, 30)


def test_start_given_in_another_zone_is_the_same_instant() -> None:
    start = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    assert PLAIN.add(start, 180) == sh(2026, 3, 16, 10)
    assert PLAIN.is_open(datetime(2026, 3, 16, 1, 0, tzinfo=UTC))
    assert not PLAIN.is_open(datetime(2026, 3, 16, 0, 59, tzinfo=UTC))


def test_calendar_with_no_opening_hours_raises_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar(hours={}).add(sh(2026, 3, 16), 1)


# --- between -----------------------------------------------------------------------------------------------------


def test_between_skips_the_night() -> None:
    assert PLAIN.between(sh(2026, 3, 16, 17), sh(2026, 3, 17, 10)) == 120
    assert PLAIN.between(sh(2026, 3, 16, 18), sh(2026, 3, 17, 9)) == 0


def test_between_skips_the_weekend() -> None:
    assert PLAIN.between(sh(2026, 3, 13, 17), sh(2026, 3, 16, 10)) == 120
    assert PLAIN.between(sh(2026, 3, 14, 9), sh(2026, 3, 15, 18)) == 0


def test_between_a_full_week_is_five_days() -> None:
    assert PLAIN.between(sh(2026, 3, 16, 9), sh(2026, 3, 23, 9)) == 5 * 540


def test_between_skips_holidays_and_counts_make_up_days() -> None:
    # 28-30 September open; 1-7 October closed; Thursday 8 and Friday 9 open, Saturday 10 October worked
    assert CHINA.between(sh(2026, 9, 28, 0), sh(2026, 10, 11, 0)) == 6 * 540
    assert PLAIN.between(sh(2026, 9, 28, 0), sh(2026, 10, 11, 0)) == 10 * 540


def test_between_is_empty_when_end_is_not_after_start() -> None:
    assert PLAIN.between(sh(2026, 3, 16, 12), sh(2026, 3, 16, 12)) == 0
    assert PLAIN.between(sh(2026, 3, 16, 12), sh(2026, 3, 16, 10)) == 0


def test_between_rounds_down_to_whole_minutes() -> None:
    assert PLAIN.between(sh(2026, 3, 16, 9), sh(2026, 3, 16, 9, 1, 59)) == 1
    assert PLAIN.between(sh(2026, 3, 16, 9), sh(2026, 3, 16, 9, 0, 59)) == 0


@pytest.mark.parametrize("minutes", [0, 1, 59, 540, 541, 2700, 4800])
@pytest.mark.parametrize("start", [sh(2026, 2, 12, 11, 17), sh(2026, 9, 30, 17, 45), sh(2026, 12, 31, 16)])
def test_between_undoes_add(start: datetime, minutes: int) -> None:
    assert CHINA.between(start, CHINA.add(start, minutes)) == minutes


# --- pauses ------------------------------------------------------------------------------------------------------


def test_pause_and_resume_extend_the_deadline_by_the_paused_business_time() -> None:
    start = sh(2026, 3, 16, 9)
    clock = SlaClock(started_at=start).pause(sh(2026, 3, 16, 10), PLAIN).resume(sh(2026, 3, 16, 11, 30), PLAIN)
    assert clock.paused_minutes == 90
    assert not clock.paused
    assert clock.deadline(480, PLAIN) == PLAIN.add(start, 570) == sh(2026, 3, 17, 9, 30)


def test_pause_over_the_night_adds_nothing() -> None:
    start = sh(2026, 3, 16, 9)
    clock = SlaClock(started_at=start).pause(sh(2026, 3, 16, 18), PLAIN).resume(sh(2026, 3, 17, 9), PLAIN)
    assert clock.paused_minutes == 0
    assert clock.deadline(600, PLAIN) == SlaClock(started_at=start).deadline(600, PLAIN) == sh(2026, 3, 17, 10)


def test_pause_across_the_night_counts_only_open_hours() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9))
    clock = clock.pause(sh(2026, 3, 16, 17, 30), PLAIN).resume(sh(2026, 3, 17, 9, 30), PLAIN)
    assert clock.paused_minutes == 60


def test_pauses_accumulate() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9))
    clock = clock.pause(sh(2026, 3, 16, 10), PLAIN).resume(sh(2026, 3, 16, 10, 20), PLAIN)
    clock = clock.pause(sh(2026, 3, 16, 15), PLAIN).resume(sh(2026, 3, 16, 15, 25), PLAIN)
    assert clock.paused_minutes == 45


def test_pause_twice_keeps_the_first_pause_and_resume_when_running_is_a_no_op() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 10), PLAIN)
    assert clock.pause(sh(2026, 3, 16, 11), PLAIN).paused_since == sh(2026, 3, 16, 10)
    running = SlaClock(started_at=sh(2026, 3, 16, 9), paused_minutes=15)
    assert running.resume(sh(2026, 3, 16, 11), PLAIN) == running


def test_pause_still_running_counts_up_to_now() -> None:
    start = sh(2026, 3, 16, 9)
    clock = SlaClock(started_at=start, paused_minutes=30).pause(sh(2026, 3, 16, 10), PLAIN)
    now = sh(2026, 3, 16, 12)
    assert clock.deadline(60, PLAIN, now=now) == PLAIN.add(start, 60 + 30 + 120) == sh(2026, 3, 16, 12, 30)
    # overnight the running pause stops growing, so the deadline holds still until the desk reopens
    assert clock.deadline(60, PLAIN, now=sh(2026, 3, 16, 23)) == clock.deadline(60, PLAIN, now=sh(2026, 3, 17, 8))
    assert clock.elapsed(PLAIN, now) == 60 - 30


def test_paused_clock_needs_now_for_its_deadline() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 10), PLAIN)
    with pytest.raises(ValueError, match="now"):
        clock.deadline(60, PLAIN)


def test_running_clock_ignores_now() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9), paused_minutes=10)
    assert clock.deadline(60, PLAIN, now=sh(2026, 3, 20, 9)) == sh(2026, 3, 16, 10, 10)


def test_elapsed_excludes_pauses_and_non_business_time() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 13, 17))
    clock = clock.pause(sh(2026, 3, 13, 17, 30), PLAIN).resume(sh(2026, 3, 16, 9, 15), PLAIN)
    assert clock.elapsed(PLAIN, sh(2026, 3, 16, 10)) == 30 + 45


def test_resume_before_the_pause_is_refused() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 12), PLAIN)
    with pytest.raises(ValueError, match="before the pause"):
        clock.resume(sh(2026, 3, 16, 11), PLAIN)


def test_pause_before_the_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before it started"):
        SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 8), PLAIN)


# --- breaches ----------------------------------------------------------------------------------------------------


def test_breached_only_after_the_deadline() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9))
    assert not breached(clock, 60, PLAIN, now=sh(2026, 3, 16, 10))
    assert breached(clock, 60, PLAIN, now=sh(2026, 3, 16, 10, 0, 1))


def test_breach_is_judged_when_the_work_was_done() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9))
    later = sh(2026, 3, 20, 9)
    assert not breached(clock, 60, PLAIN, now=later, done_at=sh(2026, 3, 16, 9, 50))
    assert breached(clock, 60, PLAIN, now=later, done_at=sh(2026, 3, 16, 10, 5))


def test_a_deadline_at_friday_close_is_breached_over_the_weekend() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 13, 17))
    assert clock.deadline(60, PLAIN) == sh(2026, 3, 13, 18)
    assert breached(clock, 60, PLAIN, now=sh(2026, 3, 14, 12))


def test_waiting_never_breaches_by_itself() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 9, 50), PLAIN)
    assert not breached(clock, 60, PLAIN, now=sh(2026, 3, 19, 15))
    resumed = clock.resume(sh(2026, 3, 19, 15), PLAIN)
    assert not breached(resumed, 60, PLAIN, now=sh(2026, 3, 19, 15, 10))
    assert breached(resumed, 60, PLAIN, now=sh(2026, 3, 19, 15, 11))


def test_breach_of_a_clock_paused_when_the_work_was_done() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9)).pause(sh(2026, 3, 16, 9, 30), PLAIN)
    assert not breached(clock, 60, PLAIN, now=sh(2026, 3, 17, 9), done_at=sh(2026, 3, 16, 16))


# --- re-binding after a priority change --------------------------------------------------------------------------


def test_rebind_after_priority_change_keeps_the_paused_minutes() -> None:
    start = sh(2026, 3, 16, 9)
    clock = SlaClock(started_at=start).pause(sh(2026, 3, 16, 10), PLAIN).resume(sh(2026, 3, 16, 12), PLAIN)
    urgent = DEFAULT_TARGETS[Priority.URGENT].resolve_minutes
    new = rebind(clock)
    assert new.started_at == start
    assert new.paused_minutes == 120
    assert new.deadline(urgent, PLAIN) == PLAIN.add(start, urgent + 120)
    assert new.deadline(urgent, PLAIN) != PLAIN.add(start, urgent)


def test_rebind_keeps_a_pause_running_now() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9), paused_minutes=20).pause(sh(2026, 3, 16, 11), PLAIN)
    new = rebind(clock)
    assert new.paused
    assert new.paused_since == sh(2026, 3, 16, 11)
    now = sh(2026, 3, 16, 14)
    assert new.deadline(240, PLAIN, now=now) == PLAIN.add(sh(2026, 3, 16, 9), 240 + 20 + 180)


def test_rebind_with_a_restart_drops_earlier_pauses_but_keeps_the_running_one() -> None:
    clock = SlaClock(started_at=sh(2026, 3, 16, 9), paused_minutes=20).pause(sh(2026, 3, 16, 11), PLAIN)
    restarted = rebind(clock, new_started_at=sh(2026, 3, 16, 13))
    assert restarted.started_at == sh(2026, 3, 16, 13)
    assert restarted.paused_minutes == 0
    assert restarted.paused_since == sh(2026, 3, 16, 13)


def test_default_targets_cover_every_priority_and_respond_before_resolving() -> None:
    assert set(DEFAULT_TARGETS) == set(Priority)
    for target in DEFAULT_TARGETS.values():
        assert 0 < target.respond_minutes < target.resolve_minutes
    resolve = [DEFAULT_TARGETS[p].resolve_minutes for p in (Priority.URGENT, Priority.HIGH, Priority.NORMAL,
                                                             Priority.LOW)]
    assert resolve == sorted(resolve)
    with pytest.raises(TypeError):
        DEFAULT_TARGETS[Priority.LOW] = SlaTarget(1, 2)  # type: ignore[index]


# --- zones -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("friday", [date(2026, 3, 6), date(2026, 3, 27)])
def test_shanghai_has_no_dst_around_the_northern_switches(friday: date) -> None:
    # the US switches on 8 March 2026 and Europe on 29 March: Shanghai stays at UTC+8 and 09:00 is 01:00 UTC
    start = datetime.combine(friday, time(17, 0), tzinfo=SHANGHAI)
    monday = friday + timedelta(days=3)
    deadline = PLAIN.add(start, 120)
    assert deadline == datetime.combine(monday, time(2, 0), tzinfo=UTC)
    assert PLAIN.between(datetime.combine(friday, time(9), tzinfo=SHANGHAI),
                         datetime.combine(monday, time(18), tzinfo=SHANGHAI)) == 2 * 540


def test_berlin_calendar_keeps_local_hours_across_the_spring_switch() -> None:
    calendar = BusinessCalendar(zone="Europe/Berlin")
    # Friday 27 March 2026 17:00 CET (UTC+1); Monday 30 March is CEST (UTC+2), so 10:00 local is 08:00 UTC
    deadline = calendar.add(berlin(2026, 3, 27, 17), 120)
    assert deadline == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert deadline.astimezone(BERLIN).hour == 10
    assert calendar.is_open(datetime(2026, 3, 30, 7, 30, tzinfo=UTC))  # 09:30 CEST
    assert not calendar.is_open(datetime(2026, 3, 27, 7, 30, tzinfo=UTC))  # 08:30 CET
    assert calendar.between(berlin(2026, 3, 27, 9), berlin(2026, 3, 30, 18)) == 2 * 540


def test_same_instant_is_open_in_one_zone_and_closed_in_another() -> None:
    instant = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai, 10:30 in Berlin
    assert PLAIN.is_open(instant)
    assert not PLAIN.is_open(instant + timedelta(hours=1))
    assert BusinessCalendar(zone="Europe/Berlin").is_open(instant + timedelta(hours=1))


# --- the shipped calendar ----------------------------------------------------------------------------------------


def test_shipped_calendar_knows_national_day_2026() -> None:
    assert CHINA.zone == "Asia/Shanghai"
    assert date(2026, 10, 1) in CHINA.holidays
    assert not CHINA.is_open(sh(2026, 10, 1, 10))
    assert CHINA.is_open(sh(2026, 10, 10, 10))  # the make-up Saturday after it
    assert CHINA.is_open(sh(2026, 10, 8, 10))


def test_shipped_calendar_matches_the_notices() -> None:
    # 2026: 元旦 3, 春节 9, 清明 3, 劳动节 5, 端午 3, 中秋 3, 国庆 7 days; 2025: 1, 8, 3, 5, 3, 8
    assert sum(day.year == 2026 for day in CHINA.holidays) == 33
    assert sum(day.year == 2025 for day in CHINA.holidays) == 28
    assert {day for day in CHINA.workdays if day.year == 2026} == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10)}
    assert {day for day in CHINA.workdays if day.year == 2025} == {
        date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)}
    assert all(day.weekday() >= 5 for day in CHINA.workdays)
    assert CHINA.hours == {day: (time(9), time(18)) for day in range(5)}


def test_shipped_calendar_2025_spring_festival() -> None:
    assert not CHINA.is_open(sh(2025, 1, 28, 10))
    assert not CHINA.is_open(sh(2025, 2, 4, 10))
    assert CHINA.is_open(sh(2025, 2, 5, 10))
    assert CHINA.is_open(sh(2025, 1, 26, 10))  # make-up Sunday


def test_load_calendar_zone_override() -> None:
    calendar = load_calendar(zone="Europe/Berlin")
    assert calendar.zone == "Europe/Berlin"
    assert calendar.holidays == CHINA.holidays


def test_load_calendar_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text('zone: Europe/Berlin\nhours:\n  0: ["08:00", "16:00"]\n'
                    "holidays:\n  - {name: Ostermontag, first: 2026-04-06, last: 2026-04-06}\n", encoding="utf-8")
    calendar = load_calendar(path)
    assert calendar.zone == "Europe/Berlin"
    assert calendar.hours == {0: (time(8), time(16))}
    assert calendar.holidays == frozenset({date(2026, 4, 6)})
    assert calendar.workdays == frozenset()
    assert calendar.add(berlin(2026, 4, 3, 12), 60) == berlin(2026, 4, 13, 9)


def test_load_calendar_rejects_unquoted_times(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("zone: Asia/Shanghai\nhours:\n  0: [09:00, 18:00]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quoted"):
        load_calendar(path)


def test_load_calendar_rejects_a_holiday_ending_before_it_begins(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text('hours:\n  0: ["09:00", "18:00"]\n'
                    "holidays:\n  - {name: x, first: 2026-04-06, last: 2026-04-05}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="before it begins"):
        load_calendar(path)


# --- input validation --------------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 16, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.add(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.between(naive, sh(2026, 3, 16, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.is_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock(started_at=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock(started_at=sh(2026, 3, 16)).pause(naive, PLAIN)
    with pytest.raises(ValueError, match="timezone-aware"):
        breached(SlaClock(started_at=sh(2026, 3, 16)), 60, PLAIN, now=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        rebind(SlaClock(started_at=sh(2026, 3, 16)), new_started_at=naive)


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add(sh(2026, 3, 16), -1)
    with pytest.raises(ValueError, match="negative"):
        SlaClock(started_at=sh(2026, 3, 16)).deadline(-5, PLAIN)
    with pytest.raises(ValueError, match="negative"):
        SlaClock(started_at=sh(2026, 3, 16), paused_minutes=-1)
    with pytest.raises(ValueError, match="negative"):
        SlaTarget(respond_minutes=-1, resolve_minutes=60)


def test_non_integer_minutes_are_refused() -> None:
    with pytest.raises(TypeError):
        PLAIN.add(sh(2026, 3, 16), 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"zone": "Mars/Olympus_Mons"}, "unknown time zone"),
    ({"hours": {0: (time(18), time(9))}}, "before it opens"),
    ({"hours": {7: (time(9), time(18))}}, "weekday"),
    ({"workdays": frozenset({date(2026, 3, 16)})}, "closed weekdays"),
    ({"holidays": frozenset({date(2026, 3, 14)}), "workdays": frozenset({date(2026, 3, 14)})}, "both"),
])
def test_invalid_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
