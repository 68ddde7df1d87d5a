"""Subversion: fulls and incremental dumps by revision, restored into new repositories at each
point, svn_parent with good, broken and foreign directories, and revisions never lost on failure."""

import datetime
import os

import pytest
from support.engine import restore_set
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents, open_uploads
from support.svn_repos import Repository, dump_of

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup, run_job
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError, JobFailed
from ansible_collections.s3napback.s3napback.plugins.module_utils.naming import source_name
from ansible_collections.s3napback.s3napback.plugins.module_utils.svn import SvnSource

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def at(day: int) -> datetime.datetime:
    return DAY + datetime.timedelta(days=day)


def stamp(day: int) -> str:
    return at(day).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def repository(tmp_path):
    repo = Repository(str(tmp_path / "repo"), str(tmp_path / "wc"))
    repo.commit_round(1)
    return repo


def restore_into(request, keys, path, day):
    return restore_set(request, keys, at=stamp(day), svn_repository=path)


def test_full_then_diffs_by_revision_restore_each_point_exactly(tmp_path, make_request, repository, keys, s3, bucket):
    request = make_request(tmp_path, source=SvnSource(repository.path))
    heads, kinds = [], []
    for day in range(3):
        if day:
            repository.commit_round(day + 1)
        outcome = run_backup(request, now=at(day))
        kinds.append(outcome.backup["kind"])
        heads.append(repository.youngest())
    assert kinds == ["full", "diff", "diff"]
    assert outcome.backup["key"].endswith("-diff.svndump.zst.gpg")
    for day, head in enumerate(heads):
        restored = str(tmp_path / f"restored-{day}")
        outcome = restore_into(request, keys, restored, day)
        assert len(outcome.objects) == day + 1 and outcome.dest == restored
        assert dump_of(restored) == repository.dump(until=head)


def test_no_new_revision_means_nothing_to_do(tmp_path, make_request, repository, s3, bucket):
    request = make_request(tmp_path, source=SvnSource(repository.path))
    run_backup(request, now=at(0))
    quiet = run_backup(request, now=at(1))
    assert not quiet.changed and quiet.reason == f"no new revision since r{repository.youngest()}"
    assert len(bucket_contents(s3, bucket)) == 2
    repository.commit_round(2)
    assert run_backup(request, now=at(1)).backup["kind"] == "diff"


def test_a_failed_upload_loses_no_revision(tmp_path, make_request, repository, moto, keys, s3, bucket):
    request = make_request(tmp_path, source=SvnSource(repository.path))
    run_backup(request, now=at(0))
    repository.commit_round(2)
    record = (tmp_path / "state").glob("*.json")
    before = {path.name: path.read_bytes() for path in record}

    def refuse_uploads(method, path, query):  # of the dump, not of its manifest
        return (403, "AccessDenied") if method == "PUT" and not path.endswith(".json") else None

    with FaultyProxy(moto.port, refuse_uploads) as proxy:
        failing = make_request(
            tmp_path, source=SvnSource(repository.path), endpoint_url=proxy.url, name=request.set_name
        )
        with pytest.raises(BackupError, match=r"^s3: access denied to writing .*\.svndump\.zst\.gpg$"):
            run_backup(failing, now=at(1))
    assert {p.name: p.read_bytes() for p in (tmp_path / "state").glob("*.json")} == before
    assert open_uploads(s3, bucket) == []
    repository.commit_round(3)
    assert run_backup(request, now=at(2)).backup["kind"] == "diff"
    restored = str(tmp_path / "restored")
    restore_into(request, keys, restored, 2)
    assert dump_of(restored) == repository.dump()


def test_svn_parent_backs_up_each_repository_and_skips_or_reports_the_rest(tmp_path, job_options, s3, bucket):
    parent = tmp_path / "repos"
    parent.mkdir()
    for name in ("alpha", "beta"):
        Repository(str(parent / name), str(tmp_path / f"wc-{name}")).commit_round(1)
    (parent / "not-a-repo").mkdir()
    broken = parent / "broken"
    Repository(str(broken), str(tmp_path / "wc-broken"))
    os.unlink(broken / "db" / "current")  # a repository that svnlook cannot read
    options = job_options(svn_parent=str(parent))
    with pytest.raises(JobFailed, match=r"^backup: 1 of 3 sets failed; first: svn-.*broken") as failure:
        run_job(options, now=at(0))
    results, notes = failure.value.result["results"], failure.value.result["notes"]
    # each repository its own set, in order (a long temporary path gets a hashed slug: naming.py)
    expected = [source_name("svn", str(parent / name)) for name in ("alpha", "beta", "broken")]
    assert [r["backup_set"]["name"] for r in results] == expected
    assert [r["changed"] for r in results] == [True, True, False]
    assert [r["backup"]["kind"] for r in results[:2]] == ["full", "full"]
    assert results[2]["failed"] and results[2]["stage"] == "source"
    assert notes == [f"{parent / 'not-a-repo'} is not a Subversion repository: skipped"]
    assert len([k for k in bucket_contents(s3, bucket) if k.endswith(".svndump.zst.gpg")]) == 2


def test_a_path_that_is_not_a_repository_is_refused_before_anything_runs(tmp_path, make_request, s3, bucket):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BackupError, match=rf"^source: {plain} is not a readable Subversion repository \(svnlook: "):
        run_backup(make_request(tmp_path, source=SvnSource(str(plain))), now=at(0))
    assert bucket_contents(s3, bucket) == [] and not (tmp_path / "state").exists()
