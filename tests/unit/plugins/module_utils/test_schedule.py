import datetime

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.schedule import Schedule, utc_day

UTC = datetime.timezone.utc


def at(year, month, day, hour=3):
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def test_days_count_from_the_epoch_not_the_day_of_the_year():
    assert utc_day(at(1970, 1, 1)) == 0
    assert utc_day(at(2027, 1, 1)) - utc_day(at(2026, 12, 31)) == 1


def test_an_aware_moment_is_counted_in_utc():
    late_in_new_york = datetime.datetime(2026, 12, 31, 23, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    assert utc_day(late_in_new_york) == utc_day(at(2027, 1, 1))


def test_cycles_run_across_new_year_without_restarting():
    schedule = Schedule(diffs=6)
    periods = [schedule.period(at(2026, 12, 25) + datetime.timedelta(days=n)) for n in range(14)]
    cycles = [schedule.cycle(p) for p in periods]
    # exactly one cycle change every 7 days, wherever 1 January falls
    changes = [n for n in range(1, 14) if cycles[n] != cycles[n - 1]]
    assert len(changes) == 2 and changes[1] - changes[0] == 7


def test_frequency_groups_days_into_periods_and_phase_shifts_them():
    every_third = Schedule(frequency=3)
    period_start = every_third.period_start(every_third.period(at(2026, 11, 1)))
    first = datetime.datetime.combine(period_start, datetime.time(3), UTC)
    days = [first + datetime.timedelta(days=n) for n in range(9)]
    periods = [every_third.period(d) for d in days]
    assert len(set(periods)) == 3 and all(periods.count(p) == 3 for p in set(periods))
    shifted = Schedule(frequency=3, phase=1)
    assert [shifted.period(d) for d in days] != periods
    assert shifted.period(days[0]) == every_third.period(days[1])


def test_period_start_is_the_first_day_of_the_period():
    schedule = Schedule(frequency=7, phase=3)
    moment = at(2026, 11, 26)
    start = schedule.period_start(schedule.period(moment))
    assert start <= moment.date() < start + datetime.timedelta(days=7)
    assert schedule.period(datetime.datetime.combine(start, datetime.time(), UTC)) == schedule.period(moment)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"frequency": 0}, "frequency"),
        ({"diffs": -1}, "diffs"),
        ({"fulls": 0}, "fulls"),
        ({"phase": -2}, "phase"),
        ({"fulls": 1001}, "fulls"),
        ({"frequency": True}, "frequency"),
    ],
)
def test_out_of_range_values_are_named(kwargs, field):
    problems = Schedule(**kwargs).problems()
    assert len(problems) == 1 and problems[0].startswith(field)


def test_defaults_are_the_originals():
    assert Schedule() == Schedule(frequency=1, phase=0, diffs=6, fulls=4)
    assert Schedule().problems() == []
