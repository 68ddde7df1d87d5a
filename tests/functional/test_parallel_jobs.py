"""``s3napback run --jobs 2``: jobs of one host at once, each in a process of its own, as cron runs
them: both back up and restore, their pipelines really overlap, one failing does not stop the
other, log lines stay whole, and SIGTERM aborts every running upload (deletes the volumes stored)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml
from support import trees
from support.engine import state_files
from support.fixtures import bucket_contents, open_uploads
from support.tree_memory import tree
from test_host_command import CRON_ENV, MODULE, s3napback
from test_reporting import metrics_of

MIB = 1024 * 1024
LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (etc|www) status=ok kind=full key=\S+ bytes=\d+ seconds=\S+ rotated=0$"
)


def named(root, name):
    """The live processes called ``name`` under ``root`` (children, grandchildren...): a stage that
    is done but not yet reaped is no running pipeline."""
    found = []
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                comm, rest = handle.read().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        if comm == name and rest.split()[0] != "Z":
            found.append(pid)
    return found


@pytest.fixture
def slow_jobs(setup, tmp_path):
    """Both jobs stream 24 MiB of incompressible data at 4 MiB/s: tar runs for seconds, until the
    upload has taken all but the last part, so two jobs at once overlap for sure."""
    config, document = setup
    for name in ("etc", "www"):
        trees.write(str(tmp_path / name / "big.bin"), os.urandom(24 * MIB))
    document["defaults"]["bandwidth_limit"] = 4 * MIB
    document["log_file"] = str(tmp_path / "s3napback.log")
    config.write_text(yaml.safe_dump(document))
    return config, document


def start(config, *args, **popen):
    command = [sys.executable, "-m", MODULE, "--config", str(config), "run", *args]
    return subprocess.Popen(command, env=CRON_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def tars_at_once(process):
    """Watch ``process`` to its successful end: the most tar processes seen under it at once, and
    its stdout."""
    most = 0
    while process.poll() is None:
        most = max(most, len(named(process.pid, "tar")))
        time.sleep(0.05)
    out, err = process.communicate()
    assert process.returncode == 0, err
    return most, out


def test_two_jobs_at_once_overlap_both_succeed_report_and_restore(slow_jobs, tmp_path, keys, pings):
    config, document = slow_jobs
    url, received = pings
    for job in document["jobs"]:
        job["healthcheck_url"] = f"{url}/{job['name']}"
    document["metrics_dir"] = str(tmp_path / "textfiles")
    (tmp_path / "textfiles").mkdir()
    config.write_text(yaml.safe_dump(document))
    most_tars, out = tars_at_once(start(config, "--jobs", "2"))
    assert most_tars == 2, "both pipelines ran at the same time"
    lines = out.splitlines()
    assert len(lines) == 2 and all(LINE_RE.match(line) for line in lines), lines
    assert sorted(line.split()[1] for line in lines) == ["etc", "www"]
    assert (tmp_path / "s3napback.log").read_text().splitlines() == lines
    for name in ("etc", "www"):
        (line,) = [line for line in lines if line.split()[1] == name]
        assert [(path, body) for path, body in received if path.startswith(f"/{name}")] == [
            (f"/{name}/start", ""),
            (f"/{name}", line),
        ]
        metrics = metrics_of(tmp_path / "textfiles" / f"s3napback_{name}.prom")
        assert metrics["s3napback_last_run_success"] == 1 and metrics["s3napback_last_backup_bytes"] > 24 * MIB
        status = json.loads((tmp_path / "state" / f"{name}.status.json").read_text())
        assert status["status"] == "ok" and status["key"] == line.split("key=")[1].split()[0]
    for name, excluded in (("etc", []), ("www", ["missing: b'etc/secret.key'"])):  # www excludes *.key
        dest = tmp_path / f"restored-{name}"
        restored = s3napback(config, "restore", name, "--dest", str(dest), "--gpg-home", keys.secret_home)
        assert restored.returncode == 0, restored.stderr
        assert trees.differences(trees.picture(str(tmp_path / name)), trees.picture(str(dest))) == excluded


def test_a_failing_job_does_not_stop_the_one_beside_it(setup, tmp_path):
    config, document = setup
    document["jobs"].insert(0, {"name": "gone", "directory": str(tmp_path / "gone")})
    document["parallel_jobs"] = 2  # from the file this time, not --jobs
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "--json", "run")
    assert run.returncode == 1
    results = yaml.safe_load(run.stdout)["results"]
    assert [(result["job"], result["status"]) for result in results] == [
        ("gone", "failed"),
        ("etc", "ok"),
        ("www", "ok"),
    ]
    assert results[0]["stage"] == "source" and "does not exist" in results[0]["msg"]
    status = json.loads((tmp_path / "state" / "gone.status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "source" and status["last_success"] is None


def both_storing(s3, bucket):
    """True once both jobs have stored a volume of their data (into the empty bucket: nothing else
    goes there before a job's data is whole)."""
    stored = bucket_contents(s3, bucket)
    return all(any(key.startswith(f"host1/{name}/") for key in stored) for name in ("etc", "www"))


@pytest.mark.parametrize("whom", ["command", "group"])
def test_sigterm_with_two_jobs_running_aborts_both_uploads(whom, slow_jobs, tmp_path, s3, bucket):
    """``command``: cron's or an operator's kill; ``group``: systemd stopping the unit signals every
    process of its control group, so each child hears SIGTERM twice."""
    config, document = slow_jobs
    process = start(config, "--jobs", "2", start_new_session=True)
    ends = time.monotonic() + 60
    while time.monotonic() < ends and process.poll() is None and not both_storing(s3, bucket):
        time.sleep(0.05)
    assert both_storing(s3, bucket), bucket_contents(s3, bucket)  # the first volume of each, at least
    assert process.poll() is None, process.communicate()
    if whom == "group":
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "stopped by SIGTERM; any unfinished upload was aborted, state is unchanged" in err
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    assert state_files(str(tmp_path / "state")) == {}
    for name in ("etc", "www"):
        left = subprocess.run(["pgrep", "-f", f"--directory={tmp_path / name}"], capture_output=True, check=False)
        assert left.stdout == b"", f"no tar of {name} left behind"
    assert not os.path.exists(tmp_path / "s3napback.log")  # no job finished, so no line
    document["defaults"].pop("bandwidth_limit")
    config.write_text(yaml.safe_dump(document))
    again = s3napback(config, "run", "--jobs", "2")
    assert again.returncode == 0 and again.stdout.count("status=ok kind=full") == 2, again.stderr


def test_a_memory_budget_for_one_job_runs_them_one_at_a_time(slow_jobs):
    config, document = slow_jobs
    document["memory_budget_mb"] = 300  # one job counts 190 MiB: a second does not fit beside it
    config.write_text(yaml.safe_dump(document))
    most_tars, out = tars_at_once(start(config, "--jobs", "2"))
    assert most_tars == 1 and out.count("status=ok kind=full") == 2


def test_a_job_whose_process_dies_fails_alone(slow_jobs, tmp_path):
    config, _document = slow_jobs
    process = start(config, "--jobs", "2")
    www_tar = f"--directory={tmp_path / 'www'}".encode()
    victim = None
    while victim is None and process.poll() is None:
        for pid in named(process.pid, "tar"):
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if www_tar in handle.read().split(b"\0"):
                    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                        victim = int(stat.read().rsplit(")", 1)[1].split()[1])  # tar's parent: www's process
        time.sleep(0.05)
    os.kill(victim, signal.SIGKILL)  # as the OOM killer would
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    lines = {line.split()[1]: line for line in out.splitlines()}
    assert "status=ok kind=full" in lines["etc"]
    assert lines["www"].endswith('status=failed error="job: the job\'s process was killed by signal SIGKILL"')
    status = json.loads((tmp_path / "state" / "www.status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "job" and status["finished"] is not None
