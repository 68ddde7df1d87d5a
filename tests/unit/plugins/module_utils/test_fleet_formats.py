import datetime

from ansible_collections.s3napback.s3napback.plugins.module_utils.fleet_chart import daily_bytes, human_age, human_bytes
from ansible_collections.s3napback.s3napback.plugins.module_utils.fleet_report import render

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def test_sizes_and_ages_read_as_people_say_them():
    assert [human_bytes(n) for n in (0, 1023, 1024, 5 * 2**20, 2**50)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 MiB",
        "1024.0 TiB",
    ]
    assert [human_age(s) for s in (59, 3600 + 120, 26 * 3600)] == ["0 min", "1 h 2 min", "1 d 2 h"]


def test_a_hosts_backups_of_one_day_add_up_to_one_point():
    history = [
        {"time": "2026-11-30T02:00:00Z", "kind": "full", "bytes": 100},
        {"time": "2026-11-30T03:00:00Z", "kind": "full", "bytes": 50},
        {"time": "2026-11-29T02:00:00Z", "kind": "diff", "bytes": 7},
    ]
    assert daily_bytes({"web1": history}) == {
        "web1": [(datetime.date(2026, 11, 29), 7, 1), (datetime.date(2026, 11, 30), 150, 2)]
    }


def test_an_empty_bucket_and_a_set_with_nothing_but_debris_still_make_a_page():
    empty = render({"sets": [], "problems": [], "bytes": 0}, "backups", NOW)
    assert "0 host(s), 0 set(s), 0 B stored (nothing), 0 problem(s)" in empty and "no backups" in empty
    debris = {"prefix": "web1", "name": "dir-etc", "newest": None, "problems": ["unfinished upload: k"], "bytes": 9}
    page = render(
        {"sets": [{**debris, "chains": [], "backups": 0, "history": []}], "problems": ["p"], "bytes": 9}, "b", NOW
    )
    assert '<tr class="set stale problem" data-bytes="9">' in page and "a set without any backup" in page


def test_the_bytes_of_each_storage_class_show_for_the_fleet_and_for_each_host():
    classes = {"DEEP_ARCHIVE": 3 * 2**30, "STANDARD": 2**20}
    described = {"prefix": "web1", "name": "dir-etc", "newest": None, "problems": [], "bytes": sum(classes.values())}
    described.update(chains=[], backups=0, history=[], bytes_by_storage_class=classes)
    page = render(
        {"sets": [described], "problems": [], "bytes": described["bytes"], "bytes_by_storage_class": classes},
        "b",
        NOW,
    )
    assert "stored (DEEP_ARCHIVE 3.0 GiB, STANDARD 1.0 MiB)" in page
    assert '<p class="storage-classes">DEEP_ARCHIVE 3.0 GiB, STANDARD 1.0 MiB</p>' in page
