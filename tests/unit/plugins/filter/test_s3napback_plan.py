"""The role's plan filter: the engine's own checks on inventory jobs, merging, schedule and splay."""

import random

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.s3napback.s3napback.plugins.filter.s3napback_plan import s3napback_plan

SETTINGS = {"bucket": "backups", "gpg_recipient": ["backup@example.com"], "endpoint_url": None, "prefix": ""}


def plan(jobs, host_jobs=None, defaults=None, host="web1", splay=60):
    return s3napback_plan(jobs, host=host, settings=SETTINGS, defaults=defaults, host_jobs=host_jobs, splay=splay)


def test_config_holds_the_jobs_without_their_schedule_and_settings_without_empty_values():
    result = plan([{"name": "www", "directory": "/srv/www", "hour": 1, "minute": 30}], defaults={"fulls": 2})
    assert result["config"] == {
        "defaults": {"bucket": "backups", "gpg_recipient": ["backup@example.com"], "fulls": 2},
        "jobs": [{"name": "www", "directory": "/srv/www"}],
    }
    (entry,) = result["schedule"]
    start = 90 + random.Random("web1www").randrange(0, 60)
    assert (entry["hour"], entry["minute"]) == (start // 60, start % 60)
    assert entry["unit"] == "s3napback-www" and entry["source"] == "directory"


def test_splay_is_the_same_on_every_run_and_differs_between_hosts():
    jobs = [{"name": f"job{n}", "directory": f"/d{n}"} for n in range(8)]
    times = {host: [(e["hour"], e["minute"]) for e in plan(jobs, host=host)["schedule"]] for host in ("a", "b")}
    assert times["a"] == [(e["hour"], e["minute"]) for e in plan(jobs, host="a")["schedule"]]
    assert times["a"] != times["b"]
    assert all(3 <= hour <= 3 and 0 <= minute <= 59 for hour, minute in times["a"])  # default 03:00 + < 60 min
    late = plan([{"name": "late", "directory": "/d", "hour": 23, "minute": 59}], splay=120)["schedule"][0]
    assert late["hour"] in (23, 0, 1)  # wraps past midnight


def test_schedule_defaults_come_from_s3napback_defaults():
    entry = plan([{"name": "x", "directory": "/d"}], defaults={"hour": 22}, splay=1)["schedule"][0]
    assert (entry["hour"], entry["minute"]) == (22, 0)


def test_a_job_without_a_name_is_selected_by_its_sets_name_and_a_named_parent_by_its_own():
    result = plan([{"directory": "/etc"}, {"name": "repos", "svn_parent": "/srv/svn"}])
    names = [entry["name"] for entry in result["schedule"]]
    assert names == ["dir-etc", "repos"]
    assert [entry["source"] for entry in result["schedule"]] == ["directory", "svn_parent"]


def test_host_jobs_replace_group_jobs_of_the_same_name_and_add_the_rest():
    group = [{"name": "etc", "directory": "/etc"}, {"name": "www", "directory": "/srv/www"}]
    host = [{"name": "www", "directory": "/var/www", "diffs": 13}, {"name": "db", "mysql_database": "shop"}]
    jobs = plan(group, host_jobs=host)["config"]["jobs"]
    assert jobs == [group[0], host[0], host[1]]


def test_systemd_unit_names_escape_what_systemd_does_not_allow():
    entry = plan([{"name": "a+b~c", "directory": "/d"}])["schedule"][0]
    assert entry["unit"] == "s3napback-a\\x2bb\\x7ec"


@pytest.mark.parametrize(
    "jobs, host_jobs, defaults, message",
    [
        ([{"name": "www", "direktory": "/srv"}], [], {}, "s3napback_jobs: job 1 (www): unknown option 'direktory'"),
        ([{"name": "www"}], [], {}, "s3napback_jobs: job 1 (www): give exactly one source of directory"),
        (
            [{"name": "a", "directory": "/a"}, {"name": "a", "directory": "/b"}],
            [],
            {},
            "s3napback_jobs: two jobs are named a",
        ),
        (
            [{"name": "a", "directory": "/a"}, {"directory": "/a"}],
            [],
            {},
            "",
        ),
        ([{"svn_parent": "/srv/svn"}], [], {}, "job 1: give this job a name: it backs up several sets"),
        ([{"name": "a", "directory": "/a", "hour": 24}], [], {}, "job 1 (a): hour must be 0-23 and minute 0-59"),
        ([{"name": "a", "directory": "/a", "minute": "x"}], [], {}, "job 1 (a): minute must be a whole number"),
        ([{"name": "a", "directory": "/a", "fulls": "4"}], [], {}, "job 1 (a): fulls must be a whole number"),
        ([{"name": "a/b", "directory": "/a"}], [], {}, "job 1 (a/b): name 'a/b' must be"),
        ([{"name": "a", "directory": "/a"}], [], {"bucket": "x"}, "set s3napback_bucket instead of bucket"),
        ([], [{"name": "b", "directory": "/b"}, {"name": "b", "directory": "/c"}], {}, "s3napback_host_jobs: two"),
        ("not a list", [], {}, "s3napback_jobs must be a list of dicts"),
        (
            [{"name": "a", "directory": "/a", "healthcheck_url": "ftp://x"}],
            [],
            {},
            "job 1 (a): healthcheck_url must be an http:// or https:// URL",
        ),
    ],
)
def test_mistakes_fail_with_a_message_naming_the_job(jobs, host_jobs, defaults, message):
    if not message:  # two jobs of one set: the second one's derived name is the first's
        jobs[0]["name"] = plan([{"directory": "/a"}])["schedule"][0]["name"]
        message = "jobs 1 and 2 are both named"
    with pytest.raises(AnsibleFilterError, match=None) as raised:
        plan(jobs, host_jobs=host_jobs, defaults=defaults)
    assert message in str(raised.value)


def test_s3_protections_and_retention_models_come_through_role_variables():
    defaults = {"storage_class": "STANDARD_IA", "sse": "AES256", "object_lock_days": 30, "keep_daily": 7}
    result = plan([{"name": "www", "directory": "/srv/www", "bandwidth_limit": 1048576}], defaults=defaults)
    assert result["config"]["defaults"]["object_lock_days"] == 30
    assert result["config"]["jobs"] == [{"name": "www", "directory": "/srv/www", "bandwidth_limit": 1048576}]
    for job, message in (
        ({"storage_class": "COLD"}, "job 1 (www): storage_class must be one of STANDARD"),
        ({"cycle": "hanoi"}, "job 1 (www): cycle hanoi needs discs"),
        ({"object_lock_days": 0}, "job 1 (www): object_lock_days must be from 1 to 36500"),
    ):
        with pytest.raises(AnsibleFilterError) as raised:
            plan([{"name": "www", "directory": "/srv/www", **job}])
        assert message in str(raised.value)
