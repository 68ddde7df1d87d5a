"""A diff's stream starts before S3 is asked: this host's snapshot says the run will be a diff, so
tar walks the tree while botocore starts and the bucket is checked, listed and planned in a thread.
Nothing is sent before the plan agrees; a plan that does not (a full is due) drops the stream unsent
and the run goes on as the plan says. The fault proxy holds the run's first S3 request (the
bucket's HEAD) to see what happened before S3 answered anything."""

import json
import os
import signal
import time

import pytest
import yaml
from support import trees
from support.crash import kill_group
from support.faulty_proxy import FaultyProxy, Hold
from support.fixtures import bucket_contents, open_uploads
from test_crash_points import assert_restores, host_command, next_run
from test_host_command import s3napback

from ansible_collections.s3napback.s3napback.plugins.module_utils.host_command import EXIT_TERMINATED


class HoldBucketCheck:
    """Forwards every request; once armed, holds the next HEAD of the bucket (a run's first call)."""

    def __init__(self, bucket):
        self.path, self.hold = f"/{bucket}", None

    def arm(self) -> Hold:
        self.hold = Hold()
        return self.hold

    def __call__(self, method, path, query):
        if self.hold is not None and method == "HEAD" and path == self.path:
            hold, self.hold = self.hold, None
            return ("hold", hold)
        return None


@pytest.fixture
def early(setup, moto, bucket, tmp_path):
    """www's first full, made with the public key imported; then the config without the key, so
    that the next runs may start early: (config, document, rule, proxy)."""
    config, document = setup
    rule = HoldBucketCheck(bucket)
    with FaultyProxy(moto.port, rule) as proxy:
        document["defaults"]["endpoint_url"] = proxy.url
        config.write_text(yaml.safe_dump(document))
        first = s3napback(config, "run", "www")
        assert first.returncode == 0, first.stderr
        del document["defaults"]["gpg_public_key"]  # in the keyring now: nothing to import first
        config.write_text(yaml.safe_dump(document))
        trees.write(str(tmp_path / "www" / "new.txt"), b"changed since the full\n")
        yield config, document, rule, proxy


def snapshots(tmp_path):
    """The set's snapshot and the working copy a run's tar writes (None while there is none)."""
    state = tmp_path / "state"
    (current,) = [state / name for name in os.listdir(state) if name.endswith(".snar")]
    pending = current.with_name(current.name + ".new")
    return current.read_bytes(), pending.read_bytes() if pending.exists() else None


def walked_before_s3_answered(process, tmp_path):
    """Wait until the run's tar has written its new snapshot, which it does at the end of its walk."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        current, pending = snapshots(tmp_path)
        if pending and pending != current:
            return True
        time.sleep(0.05)
    return False


def test_a_diff_walks_the_tree_before_s3_answers_and_is_stored_once_it_has(early, tmp_path, s3, bucket, keys):
    config, _document, rule, _proxy = early
    first = bucket_contents(s3, bucket)
    hold = rule.arm()
    process = host_command(config, "--json", "run", "www", "--force")
    try:
        hold.wait()
        assert walked_before_s3_answered(process, tmp_path)
        assert bucket_contents(s3, bucket) == first  # nothing sent before the plan
        hold.release(True)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == 0, err
    (result,) = json.loads(out)["results"]
    assert result["backup"]["kind"] == "diff" and result["backup"]["parent"] == first[0]
    assert snapshots(tmp_path)[1] is None
    assert_restores(config, tmp_path, keys)


def test_an_early_diff_the_plan_overrules_is_dropped_unsent_and_a_full_stored(early, tmp_path, s3, bucket, keys):
    config, document, _rule, proxy = early
    document["defaults"]["diffs"] = 1
    config.write_text(yaml.safe_dump(document))
    diff = next_run(config, "--force")
    assert diff["backup"]["kind"] == "diff"
    before = bucket_contents(s3, bucket)
    trees.write(str(tmp_path / "www" / "newer.txt"), b"changed since the diff\n")
    sent = len(proxy.requests)
    full = next_run(config, "--force")
    assert full["backup"]["kind"] == "full" and "already has its 1 diffs" in full["reason"]
    made = [full["backup"][name] for name in ("key", "index_key", "manifest_key")]
    puts = sorted(path.split("/", 2)[2] for method, path, _headers in proxy.requests[sent:] if method == "PUT")
    assert puts == sorted(made)
    assert bucket_contents(s3, bucket) == sorted(before + made) and open_uploads(s3, bucket) == []
    assert snapshots(tmp_path)[1] is None
    following = next_run(config, "--force")  # the snapshot is the full's: a diff of it
    assert following["backup"]["kind"] == "diff" and following["backup"]["parent"] == full["backup"]["key"]
    assert_restores(config, tmp_path, keys)


def test_sigterm_while_s3_is_asked_stores_nothing_and_leaves_the_state(early, tmp_path, s3, bucket):
    config, _document, rule, _proxy = early
    first, state = bucket_contents(s3, bucket), snapshots(tmp_path)
    hold = rule.arm()
    process = host_command(config, "run", "www", "--force")
    try:
        hold.wait()
        assert walked_before_s3_answered(process, tmp_path)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the run waits for the S3 call it started, holding the set's lock
        assert process.poll() is None
        hold.release(True)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == EXIT_TERMINATED, err
    assert "stopped by SIGTERM" in err
    assert bucket_contents(s3, bucket) == first and open_uploads(s3, bucket) == []
    assert snapshots(tmp_path) == (state[0], None)
