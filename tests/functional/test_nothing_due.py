"""A run in a period that already has its backup, which this host stored, is answered by the host's
own record: it asks S3 nothing (no botocore, no client, no listing) and changes nothing. The store
here is a moto server of the test's own, stopped after the first backup, so any S3 call would fail."""

import datetime

import pytest
from support import trees
from support.fixtures import ACCESS_KEY, SECRET_KEY, client_for
from support.processes import MotoServer

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


@pytest.fixture
def stopped_store_request(make_request, keys, tmp_path):
    """A request into a store that is gone after the first backup: (request maker, first outcome)."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    server = MotoServer().start()
    try:
        client_for(server.url).create_bucket(Bucket="gone")

        # One try per request: the gone store refuses the connection at once.
        connection = Connection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=server.url, attempts=1)

        def request(**overrides):
            values = {"bucket": "gone", "connection": connection, "gpg_public_key": None}
            return make_request(source, gpg_home=keys.public_home, **{**values, **overrides})

        first = run_backup(request(), now=DAY)
    finally:
        server.stop()
    return request, first


def test_a_second_run_of_the_period_asks_s3_nothing(stopped_store_request):
    request, first = stopped_store_request
    assert first.changed and first.backup["kind"] == "full"
    for check_mode in (False, True):
        again = run_backup(request(), now=DAY + datetime.timedelta(hours=20), check_mode=check_mode)
        assert not again.changed and again.backup is None
        assert f"already has backup {first.backup['key']}" in again.reason and "S3 was not asked" in again.reason


def test_what_the_record_cannot_answer_goes_to_s3(stopped_store_request, keys, tmp_path):
    """The next period, force, a public key to import and other recipients each ask S3, which is gone."""
    request, _first = stopped_store_request
    asked = [
        (request(), DAY + datetime.timedelta(days=1)),
        (request(force=True), DAY + datetime.timedelta(hours=1)),
        (request(gpg_public_key=keys.public_key), DAY + datetime.timedelta(hours=1)),
        # the same key named by its fingerprint: recipients the record's backup was not encrypted to
        (request(gpg_recipient=[keys.fingerprint]), DAY + datetime.timedelta(hours=1)),
    ]
    for made, now in asked:
        with pytest.raises(BackupError) as failed:
            run_backup(made, now=now)
        assert failed.value.stage == "s3" and "cannot connect" in str(failed.value)
