"""The JSON status file each job's run leaves (issue 8): written whole, owner only, and a failed
or idle run keeps the time of the last success."""

import json
import stat

import yaml
from test_host_command import s3napback

STAGES = ["tar", "zstd", "gpg"]


def status_of(path):
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())


def test_success_then_nothing_due_then_failure_keep_the_last_success(setup, tmp_path):
    config, _document = setup
    path = tmp_path / "state" / "etc.status.json"
    assert s3napback(config, "run", "etc").returncode == 0
    ok = status_of(path)
    assert ok["job"] == "etc" and ok["status"] == "ok" and ok["kind"] == "full" and ok["error"] is None
    assert ok["key"].startswith("host1/etc/") and ok["bytes"] > 0 and ok["duration_s"] >= 0
    assert ok["started"] <= ok["finished"] == ok["last_success"] and ok["last_success_key"] == ok["key"]
    assert [stage["stage"] for stage in ok["timings"]["stages"]] == STAGES

    assert s3napback(config, "run", "etc").returncode == 3
    idle = status_of(path)
    assert idle["status"] == "nothing" and "already has backup" in idle["reason"] and idle["key"] is None
    assert (idle["last_success"], idle["last_success_key"]) == (ok["last_success"], ok["key"])

    (tmp_path / "etc").rename(tmp_path / "etc.moved")
    assert s3napback(config, "run", "etc", "--force").returncode == 1
    failed = status_of(path)
    assert failed["status"] == "failed" and failed["stage"] == "source"
    assert ok["finished"] <= failed["started"] <= failed["finished"]
    assert "does not exist" in failed["error"] and "\n" not in failed["error"]
    assert (failed["last_success"], failed["last_success_key"]) == (ok["last_success"], ok["key"])
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_status_dir_holds_them_and_json_output_carries_the_timings(setup, tmp_path):
    config, document = setup
    document["status_dir"] = str(tmp_path / "status")
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "--json", "run")
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)["results"]
    assert sorted(p.name for p in (tmp_path / "status").iterdir()) == ["etc.status.json", "www.status.json"]
    for result in results:
        written = status_of(tmp_path / "status" / f"{result['job']}.status.json")
        assert written["timings"] == result["backup"]["timings"]
        assert [stage["stage"] for stage in written["timings"]["stages"]] == STAGES
    assert not list((tmp_path / "state").glob("*.status.json"))
