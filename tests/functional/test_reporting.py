"""What a scheduled run leaves for its watchers: the log file, Prometheus textfiles, healthcheck
pings (received by a real HTTP server on loopback), and jobs of several sets selected by name."""

import yaml
from support import svn_repos
from test_host_command import s3napback

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming


def metrics_of(path):
    return {
        line.split("{")[0]: float(line.split()[-1])
        for line in path.read_text().splitlines()
        if not line.startswith("#")
    }


def test_log_file_metrics_and_healthchecks_follow_each_run(setup, tmp_path, pings):
    config, document = setup
    url, received = pings
    metrics_dir = tmp_path / "textfiles"
    metrics_dir.mkdir()
    document.update(log_file=str(tmp_path / "s3napback.log"), metrics_dir=str(metrics_dir))
    document["jobs"][0]["healthcheck_url"] = f"{url}/ping/etc-uuid"
    config.write_text(yaml.safe_dump(document))

    first = s3napback(config, "run")
    assert first.returncode == 0, first.stderr
    log = (tmp_path / "s3napback.log").read_text().splitlines()
    assert log == first.stdout.splitlines() and len(log) == 2
    assert [path for path, _body in received] == ["/ping/etc-uuid/start", "/ping/etc-uuid"]
    assert " etc status=ok kind=full " in received[1][1]
    etc = metrics_of(metrics_dir / "s3napback_etc.prom")
    assert etc["s3napback_last_run_success"] == 1
    assert etc["s3napback_last_success_timestamp_seconds"] == etc["s3napback_last_run_timestamp_seconds"]
    assert etc["s3napback_last_backup_bytes"] > 0 and etc["s3napback_last_backup_duration_seconds"] >= 0
    assert (metrics_dir / "s3napback_www.prom").exists()
    assert [p.name for p in metrics_dir.iterdir() if p.name.startswith(".")] == []

    # The source disappears: the run fails, the ping says so, the last success is kept.
    (tmp_path / "etc").rename(tmp_path / "etc.moved")
    failed = s3napback(config, "run", "etc", "--force")
    assert failed.returncode == 1
    assert "s3napback: etc: source: directory " in failed.stderr and "does not exist" in failed.stderr
    assert received[-1][0] == "/ping/etc-uuid/fail" and "status=failed" in received[-1][1]
    after = metrics_of(metrics_dir / "s3napback_etc.prom")
    assert after["s3napback_last_run_success"] == 0
    assert after["s3napback_last_success_timestamp_seconds"] == etc["s3napback_last_success_timestamp_seconds"]
    assert after["s3napback_last_backup_bytes"] == etc["s3napback_last_backup_bytes"]
    assert len((tmp_path / "s3napback.log").read_text().splitlines()) == 3


def test_an_unreachable_monitor_does_not_fail_the_backup(setup):
    config, document = setup
    document["defaults"]["healthcheck_url"] = "http://127.0.0.1:9/nobody-listens"
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "run", "www")
    assert run.returncode == 0
    assert "s3napback: healthcheck: cannot ping http://127.0.0.1:9/nobody-listens/start" in run.stderr


def test_a_named_job_of_several_sets_runs_them_all_by_its_name(setup, tmp_path):
    config, document = setup
    parent = tmp_path / "svn"
    parent.mkdir()
    for name in ("alpha", "beta"):
        svn_repos.Repository(str(parent / name), str(tmp_path / f"work-{name}")).commit_round(1)
    document["jobs"].append({"name": "repos", "svn_parent": str(parent)})
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "run", "repos")
    assert run.returncode == 0, run.stderr
    names = [line.split()[1] for line in run.stdout.splitlines()]
    # Long temporary paths end in a digest; the names are the repositories', not the job's.
    assert names == [naming.source_name("svn", str(parent / name)) for name in ("alpha", "beta")]
    unknown = s3napback(config, "run", "nope")
    assert unknown.returncode == 2 and "no job named nope (jobs: " in unknown.stderr and "repos" in unknown.stderr


def test_a_bad_healthcheck_url_is_a_config_error_naming_the_job(setup):
    config, document = setup
    document["jobs"][1]["healthcheck_url"] = "file:///etc/shadow"
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "run")
    assert run.returncode == 2
    assert "job 2 (www): healthcheck_url must be an http:// or https:// URL" in run.stderr
