"""Retention models over simulated months: the Tower of Hanoi over chains, and
grandfather-father-son rules that keep each kept backup restorable."""

import datetime

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.plan import PlanInputs, plan_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.rotation import Retention
from ansible_collections.s3napback.s3napback.plugins.module_utils.schedule import Schedule
from ansible_collections.s3napback.s3napback.plugins.module_utils.set_listing import Backup, build_listing

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 9, 1, 3, tzinfo=UTC)


class Simulation:
    """Daily runs of one set, each followed by rotation, as the engine does them."""

    def __init__(self, schedule, retention):
        self.schedule, self.retention = schedule, retention
        self.objects, self.state_key = {}, None

    def listing(self):
        return build_listing(list(self.objects.items()), "h/s/")

    def run(self, now):
        listing = self.listing()
        plan = plan_backup(PlanInputs(self.schedule, listing, now, True, self.state_key))
        key = naming.data_key("h", "s", naming.stamp(now), plan.kind, ".tar")
        future = listing.with_backup(Backup(key, plan.kind, now, 1))
        self.objects[key] = self.objects[naming.manifest_key(key)] = 1
        self.state_key = key
        expired = self.retention.expired_keys(future, self.schedule)
        for gone in expired:
            del self.objects[gone]
        return expired

    def chains(self):
        chains, orphans = self.listing().chains()
        assert not orphans and not self.listing().strays and not self.listing().lonely_manifests
        return chains


def test_hanoi_keeps_one_chain_per_disc_reaching_back_twice_as_far_each_disc():
    schedule = Schedule(diffs=0)  # one chain per day keeps the arithmetic plain
    simulation = Simulation(schedule, Retention(cycle="hanoi", discs=4))
    oldest_ages = []
    for day in range(80):
        now = START + datetime.timedelta(days=day)
        simulation.run(now)
        cycles = [schedule.cycle(schedule.period(chain.full.stamp)) for chain in simulation.chains()]
        newest = schedule.cycle(schedule.period(now))
        assert cycles[-1] == newest and len(cycles) <= 4
        oldest_ages.append(newest - cycles[0])
    assert max(oldest_ages) == 7 and len(simulation.chains()) == 4  # 2^(discs-1) - 1 cycles back at most


def test_hanoi_with_diffs_rotates_whole_chains():
    schedule = Schedule(diffs=2)
    simulation = Simulation(schedule, Retention(cycle="hanoi", discs=3))
    for day in range(60):
        simulation.run(START + datetime.timedelta(days=day))
    chains = simulation.chains()
    assert len(chains) == 3 and all(len(chain.diffs) <= 2 for chain in chains[:-1])
    assert all(len(chain.diffs) == 2 for chain in chains[:-1])  # old chains are whole


def test_grandfather_father_son_keeps_each_chosen_backup_restorable():
    schedule = Schedule(diffs=6)
    retention = Retention(keep_daily=7, keep_weekly=4, keep_monthly=3)
    simulation = Simulation(schedule, retention)
    days = [START + datetime.timedelta(days=day) for day in range(150)]
    for now in days:
        simulation.run(now)
    kept = {backup.stamp for chain in simulation.chains() for backup in chain.backups}
    for chain in simulation.chains():  # a chain is its full and an unbroken run of diffs
        assert chain.full.kind == "full"
    assert set(days[-7:]) <= kept  # daily
    for rule, bucket, count in (("weekly", lambda d: d.isocalendar()[:2], 4), ("monthly", lambda d: d.month, 3)):
        newest = {}
        for day in days:
            newest[bucket(day)] = day
        wanted = sorted(newest.values())[-count:]
        assert set(wanted) <= kept, rule
    assert len(kept) <= (7 + 4 + 3) * 7  # bounded: at most a chain prefix per chosen backup


def test_a_kept_diff_keeps_its_full_and_the_diffs_before_it_while_later_diffs_go():
    schedule = Schedule(diffs=6)
    simulation = Simulation(schedule, Retention(keep_daily=1, keep_weekly=3))
    for day in range(40):
        simulation.run(START + datetime.timedelta(days=day))
    old = simulation.chains()[:-1]
    assert 1 <= len(old) <= 3
    for chain in old:  # cut right after the week's newest backup, a Sunday: the diffs after it went
        assert chain.backups[-1].stamp.isoweekday() == 7


def test_retention_reports_what_it_would_delete_and_keeps_the_newest_backup_always():
    schedule = Schedule(diffs=6)
    simulation = Simulation(schedule, Retention(keep_daily=0, keep_weekly=0, keep_monthly=0))
    for day in range(10):
        simulation.run(START + datetime.timedelta(days=day))
    (chain,) = simulation.chains()
    assert chain.backups[-1].stamp == START + datetime.timedelta(days=9)


@pytest.mark.parametrize(
    "retention, problem",
    [
        (Retention(cycle="fibonacci"), "cycle must be one of simple, hanoi, not 'fibonacci'"),
        (Retention(cycle="hanoi"), "cycle hanoi needs discs, from 1 to 32"),
        (Retention(cycle="hanoi", discs=33), "cycle hanoi needs discs, from 1 to 32"),
        (Retention(discs=4), "discs applies to cycle: hanoi only"),
        (Retention(cycle="hanoi", discs=4, keep_daily=7), "cannot be combined with cycle: hanoi"),
        (Retention(keep_weekly=-1), "keep_weekly must be from 0 to 10000, not -1"),
    ],
)
def test_retention_problems_are_named(retention, problem):
    assert any(problem in found for found in retention.problems())
