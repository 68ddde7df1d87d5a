"""The alert rules: valid for promtool, right on sample series (tests/prometheus), installed by the
role with its threshold, and reading only metrics the jobs' textfiles really hold."""

import functools
import json
import os
import re
import subprocess

import yaml
from support.ansible_runner import ROOT, ansible

from ansible_collections.s3napback.s3napback.plugins.module_utils.config import Job
from ansible_collections.s3napback.s3napback.plugins.module_utils.run_report import METRICS, Reporter

RULES = os.path.join(ROOT, "docs", "prometheus", "s3napback.rules.yml")
RULE_TESTS = os.path.join(ROOT, "tests", "prometheus", "s3napback.rules.test.yml")


PROMTOOL = os.path.join(ROOT, "tests", "scripts", "promtool.sh")


@functools.cache
def promtool_path():
    return subprocess.run([PROMTOOL], capture_output=True, text=True, check=True).stdout.strip()


def promtool(*args, stdin=None):
    return subprocess.run([promtool_path(), *args], input=stdin, capture_output=True, text=True, check=False)


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def expressions(rules):
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules_and_their_alerts_fire_as_the_samples_say():
    check = promtool("check", "rules", RULES)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 3 rules found" in check.stdout
    unit = promtool("test", "rules", RULE_TESTS)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout


def test_the_role_installs_the_plain_rules_or_its_own_threshold(tmp_path, ansible_env):
    default, longer = tmp_path / "default.rules.yml", tmp_path / "longer.rules.yml"
    playbook = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": f"Rules into {path.name}",
                    "ansible.builtin.include_role": {
                        "name": "s3napback.s3napback.s3napback",
                        "tasks_from": "prometheus",
                    },
                    "vars": {"s3napback_prometheus_rules_file": str(path), **variables},
                }
                for path, variables in ((default, {}), (longer, {"s3napback_alert_max_age_hours": 50}))
            ],
        }
    ]
    (tmp_path / "rules.yml").write_text(json.dumps(playbook))
    ansible("ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "rules.yml"), env=ansible_env)
    assert load(default) == load(RULES)
    assert oct(default.stat().st_mode & 0o777) == "0o644"
    assert expressions(load(longer))[0] == "time() - s3napback_last_success_timestamp_seconds > 50 * 3600"
    assert promtool("check", "rules", str(longer)).returncode == 0


def test_the_rules_read_only_metrics_the_jobs_write():
    written = {f"s3napback_{metric}" for metric, _help in METRICS}
    read = {name for expr in expressions(load(RULES)) for name in re.findall(r"s3napback_\w+", expr)}
    assert len(read) == 4 and read <= written


def test_each_full_is_kept_beside_the_full_before_it_and_diffs_leave_both(tmp_path):
    reporter = Reporter(metrics_dir=str(tmp_path), clock=lambda: 1_800_000_000, status_dir=str(tmp_path / "status"))
    job = Job(name="www", options={}, request=None, group="www")
    textfile = tmp_path / "s3napback_www.prom"

    def run(kind, size):
        reporter.finished(job, "line", {"status": "ok", "backup": {"kind": kind, "bytes_out": size, "duration_s": 1.5}})
        samples = [line.split() for line in textfile.read_text().splitlines() if not line.startswith("#")]
        return {name.split("{")[0].removeprefix("s3napback_"): float(value) for name, value in samples}

    first = run("full", 1000)
    assert first["last_full_backup_bytes"] == 1000 and "previous_full_backup_bytes" not in first
    after_diff = run("diff", 10)
    assert after_diff["last_backup_bytes"] == 10 and after_diff["last_full_backup_bytes"] == 1000
    shrunk = run("full", 400)
    assert (shrunk["last_full_backup_bytes"], shrunk["previous_full_backup_bytes"]) == (400, 1000)
    lint = promtool("check", "metrics", stdin=textfile.read_text())
    assert lint.returncode == 0, lint.stdout + lint.stderr
