"""The decision of each run and rotation, simulated over months of days without S3."""

import datetime

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.plan import PlanInputs, plan_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.rotation import expired_keys
from ansible_collections.s3napback.s3napback.plugins.module_utils.schedule import Schedule
from ansible_collections.s3napback.s3napback.plugins.module_utils.set_listing import Backup, SetListing, build_listing

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 12, 20, 3, tzinfo=UTC)


def first_day(schedule, test):
    """The first day from START whose period passes ``test``."""
    return next(
        START + datetime.timedelta(days=n)
        for n in range(1000)
        if test(schedule.period(START + datetime.timedelta(days=n)))
    )


class SimulatedSet:
    """A set's objects and this host's state, advanced the way the engine advances them."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.objects = {}
        self.state_key = None
        self.history = []

    def listing(self):
        return build_listing(list(self.objects.items()), "h/s/")

    def run(self, now, **flags):
        listing = self.listing()
        plan = plan_backup(PlanInputs(self.schedule, listing, now, True, self.state_key, **flags))
        if plan.kind is None:
            self.history.append(None)
            return plan
        key = naming.data_key("h", "s", naming.stamp(now), plan.kind, ".tar")
        self.objects[key] = 1
        self.objects[naming.manifest_key(key)] = 1
        self.state_key = key
        for expired in expired_keys(listing.with_backup(Backup(key, plan.kind, now, 1)), self.schedule.fulls):
            del self.objects[expired]
        self.history.append(plan.kind)
        return plan

    def assert_consistent(self):
        listing = self.listing()
        chains, orphans = listing.chains()
        assert not orphans and not listing.strays and not listing.lonely_manifests
        assert len(chains) <= self.schedule.fulls
        for chain in chains:
            assert len(chain.diffs) <= self.schedule.diffs
        return chains


@pytest.mark.parametrize("diffs, fulls", [(6, 4), (2, 2), (0, 3), (1, 1)])
def test_daily_runs_keep_exactly_fulls_chains_and_never_orphan_a_diff(diffs, fulls):
    schedule = Schedule(diffs=diffs, fulls=fulls)
    simulated = SimulatedSet(schedule)
    start = first_day(schedule, lambda period: period % (diffs + 1) == 0)
    for day in range(60):
        simulated.run(start + datetime.timedelta(days=day))
        chains = simulated.assert_consistent()
    assert len(chains) == fulls
    assert simulated.history[: diffs + 2] == ["full"] + ["diff"] * diffs + ["full"]
    assert len(simulated.listing().backups) <= fulls * (diffs + 1)


def test_the_first_run_of_a_new_cycle_is_a_full_even_if_its_first_day_was_missed():
    schedule = Schedule(diffs=3, fulls=2)
    simulated = SimulatedSet(schedule)
    cycle_start = first_day(schedule, lambda period: period % 4 == 0)
    for n in range(3):
        simulated.run(cycle_start + datetime.timedelta(days=n))
    plan = simulated.run(cycle_start + datetime.timedelta(days=5))  # day 4, a cycle's first, was missed
    assert plan.kind == "full" and plan.reason == "a new cycle starts"


def test_a_host_down_for_a_week_takes_a_full_not_a_diff_against_a_deleted_parent():
    simulated = SimulatedSet(Schedule(diffs=6, fulls=2))
    for day in range(3):
        simulated.run(START + datetime.timedelta(days=day))
    assert simulated.run(START + datetime.timedelta(days=11)).kind == "full"
    simulated.assert_consistent()


def test_a_second_run_in_the_same_period_does_nothing_unless_forced():
    simulated = SimulatedSet(Schedule(frequency=2))
    assert simulated.run(START).kind == "full"
    later = START + datetime.timedelta(hours=5)
    plan = simulated.run(later)
    assert plan.kind is None and "already has backup" in plan.reason
    assert simulated.run(later + datetime.timedelta(seconds=1), force=True).kind == "diff"


def test_frequency_and_phase_make_one_backup_per_period():
    for phase in (0, 1, 2):
        schedule = Schedule(frequency=3, phase=phase, diffs=2, fulls=2)
        simulated = SimulatedSet(schedule)
        start = datetime.datetime.combine(schedule.period_start(schedule.period(START) + 1), START.timetz())
        for day in range(30):
            simulated.run(start + datetime.timedelta(days=day))
            simulated.assert_consistent()
        assert sum(kind is not None for kind in simulated.history) == 10


def test_force_full_starts_a_new_chain():
    simulated = SimulatedSet(Schedule())
    simulated.run(START)
    plan = simulated.run(START + datetime.timedelta(days=1), force_full=True)
    assert plan.kind == "full" and plan.reason == "force_full was requested"


@pytest.mark.parametrize(
    "state_key, reason",
    [
        (None, "this host has no incremental state for this set"),
        ("h/s/20000101T000000Z-full.tar", "this host's incremental state follows h/s/20000101T000000Z-full.tar"),
    ],
)
def test_missing_or_foreign_local_state_means_a_full(state_key, reason):
    simulated = SimulatedSet(Schedule())
    simulated.run(START)
    simulated.state_key = state_key
    plan = simulated.run(START + datetime.timedelta(days=1))
    assert plan.kind == "full" and plan.reason.startswith(reason)


def test_a_broken_chain_means_a_full():
    simulated = SimulatedSet(Schedule())
    simulated.run(START)
    plan = simulated.run(START + datetime.timedelta(days=1), chain_problem=lambda: "manifest x is unreadable")
    assert plan.kind == "full" and "broken" in plan.reason


def test_the_chain_is_read_only_when_a_diff_could_follow():
    asked = []
    simulated = SimulatedSet(Schedule())
    simulated.run(START, chain_problem=lambda: asked.append("first") or "no chain yet")
    simulated.run(START + datetime.timedelta(hours=1), chain_problem=lambda: asked.append("same day") or None)
    simulated.run(START + datetime.timedelta(days=1), chain_problem=lambda: asked.append("next day") or None)
    assert asked == ["next day"] and simulated.history == ["full", None, "diff"]


def test_a_backup_dated_in_the_future_stops_the_run_with_a_clear_error():
    simulated = SimulatedSet(Schedule())
    simulated.run(START + datetime.timedelta(days=3))
    with pytest.raises(BackupError, match=r"dated after now.*clock"):
        simulated.run(START)
    forced = simulated.run(START, force=True)
    assert forced.kind == "diff" and forced.parent.stamp > START


def test_rotation_deletes_newest_diff_first_manifest_before_data_and_the_full_last():
    keys = [
        naming.data_key("h", "s", f"2026120{n}T000000Z", kind, ".tar")
        for n, kind in enumerate(["full", "diff", "diff", "full"], start=1)
    ]
    objects = [(k, 1) for k in keys] + [(naming.manifest_key(k), 1) for k in keys]
    expired = expired_keys(build_listing(objects, "h/s/"), fulls=1)
    assert expired == [
        naming.manifest_key(keys[2]),
        keys[2],
        naming.manifest_key(keys[1]),
        keys[1],
        naming.manifest_key(keys[0]),
        keys[0],
    ]


def test_leftovers_older_than_the_kept_chains_are_cleaned_and_newer_ones_kept():
    full_old, stray_old, full_new, stray_new = (
        naming.data_key("h", "s", f"2026120{n}T000000Z", kind, ".tar")
        for n, kind in [(1, "full"), (2, "diff"), (3, "full"), (4, "diff")]
    )
    lonely = naming.manifest_key(naming.data_key("h", "s", "20261202T120000Z", "diff", ".tar"))
    objects = [
        (full_old, 1),
        (naming.manifest_key(full_old), 1),
        (stray_old, 1),
        (full_new, 1),
        (naming.manifest_key(full_new), 1),
        (stray_new, 1),
        (lonely, 1),
        ("h/s/README", 1),
    ]
    listing = build_listing(objects, "h/s/")
    assert listing.strays == [stray_old, stray_new] and listing.lonely_manifests == [lonely]
    expired = expired_keys(listing, fulls=1)
    assert set(expired) == {full_old, naming.manifest_key(full_old), stray_old, lonely}


def test_a_diff_before_any_full_is_an_orphan_and_forces_a_full():
    diff = naming.data_key("h", "s", "20261201T000000Z", "diff", ".tar")
    listing = build_listing([(diff, 1), (naming.manifest_key(diff), 1)], "h/s/")
    chains, orphans = listing.chains()
    assert chains == [] and [b.key for b in orphans] == [diff]
    plan = plan_backup(PlanInputs(Schedule(), listing, START, True, diff))
    assert plan.kind == "full" and "has no full before it" in plan.reason


def test_nested_and_foreign_objects_are_ignored():
    listing = build_listing([("h/s/sub/20261201T000000Z-full.tar", 1), ("h/s/other.txt", 1)], "h/s/")
    assert listing == SetListing()
