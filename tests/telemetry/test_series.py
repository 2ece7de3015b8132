"""Chart series from heartbeat history: means per interval and reader error rates from counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from posops.telemetry.series import Reading, bucket_means, error_rates, plotted_at

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(minutes: float, **values: int | None) -> Reading:
    return Reading(T0 + timedelta(minutes=minutes), **values)  # type: ignore[arg-type]


def test_means_per_interval_leave_out_empty_ones_and_missing_values() -> None:
    readings = [at(1, battery_pct=80), at(9, battery_pct=70), at(15, battery_pct=None), at(45, battery_pct=40),
                at(61, battery_pct=10)]
    points = bucket_means(readings, lambda r: r.battery_pct, since=T0, until=T0 + HOUR, buckets=4)
    assert points == [(T0 + timedelta(minutes=7.5), 75.0), (T0 + timedelta(minutes=52.5), 40.0)]


def test_error_rate_is_the_growth_of_errors_over_the_growth_of_reads() -> None:
    readings = [at(0, reads=1000, read_errors=10), at(10, reads=1100, read_errors=12),
                at(20, reads=1200, read_errors=22), at(40, reads=1250, read_errors=22)]
    points = error_rates(readings, since=T0, until=T0 + HOUR, buckets=2)
    assert points == [(T0 + timedelta(minutes=15), 12 / 200), (T0 + timedelta(minutes=45), 0.0)]


def test_a_counter_that_restarts_is_not_a_negative_rate() -> None:
    readings = [at(0, reads=5000, read_errors=50), at(10, reads=20, read_errors=10),
                at(20, reads=120, read_errors=11)]
    assert error_rates(readings, since=T0, until=T0 + HOUR, buckets=1) == [(T0 + timedelta(minutes=30), 0.01)]


def test_order_of_arrival_does_not_matter_and_no_reads_means_no_point() -> None:
    readings = [at(20, reads=300, read_errors=3), at(0, reads=100, read_errors=1), at(30, reads=300, read_errors=3)]
    assert error_rates(readings, since=T0, until=T0 + HOUR, buckets=1) == [(T0 + timedelta(minutes=30), 0.01)]
    assert error_rates([at(0, reads=5, read_errors=0), at(5, reads=5, read_errors=0)], since=T0,
                       until=T0 + HOUR, buckets=6) == []


def test_a_heartbeat_is_placed_at_the_terminals_time_when_that_is_plausible() -> None:
    received = T0 + HOUR
    assert plotted_at(T0, received) == T0, "a backlog uploaded later lands where it was measured"
    assert plotted_at(received + timedelta(seconds=5), received) == received, "not in the future"
    assert plotted_at(T0 - timedelta(days=2), received) == received, "a clock far behind is not believed"
