"""Where the connection options end up in botocore: the bucket's place in the URL, the CA bundle
given to ``verify``, and the checksum settings, on the real client the engine builds."""

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket, Connection

KEYS = {"access_key": "AKIAEXAMPLE", "secret_key": "example-secret", "region": "eu-west-1"}


def object_url(**options) -> str:
    """The URL the engine's client would GET ``backups/a/key`` at (presigned: nothing is sent)."""
    client = Bucket(Connection(**KEYS, **options), "backups").client
    return client.generate_presigned_url("get_object", Params={"Bucket": "backups", "Key": "a/key"}).split("?")[0]


@pytest.mark.parametrize(
    "options, url",
    [
        ({"endpoint_url": "https://store.example.com"}, "https://store.example.com/backups/a/key"),
        (
            {"endpoint_url": "https://store.example.com", "addressing_style": "virtual"},
            "https://backups.store.example.com/a/key",
        ),
        ({"addressing_style": "path"}, "https://s3.eu-west-1.amazonaws.com/backups/a/key"),
        ({}, "https://backups.s3.amazonaws.com/a/key"),
    ],
    ids=["endpoint: path", "endpoint, virtual", "AWS, path", "AWS: auto"],
)
def test_the_addressing_style_puts_the_bucket_in_the_path_or_the_host(options, url):
    assert object_url(**options) == url


def test_the_checksum_option_sets_botocores_two_settings_and_beats_its_environment(monkeypatch):
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    monkeypatch.setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    unset = Bucket(Connection(**KEYS), "backups")
    assert unset.checksums is False and unset.client.meta.config.request_checksum_calculation == "when_required"
    given = Bucket(Connection(**KEYS, checksum_calculation="when_supported"), "backups")
    assert given.checksums is True
    assert given.client.meta.config.request_checksum_calculation == "when_supported"
    assert given.client.meta.config.response_checksum_validation == "when_supported"


def test_a_bad_choice_or_a_missing_bundle_is_a_config_error_before_any_request(tmp_path):
    with pytest.raises(
        BackupError, match=r"^config: checksum_calculation must be one of when_supported, when_required$"
    ):
        Bucket(Connection(**KEYS, checksum_calculation="always"), "backups")
    with pytest.raises(BackupError, match=r"^config: addressing_style must be one of auto, path, virtual$"):
        Bucket(Connection(**KEYS, addressing_style="dns"), "backups")
    missing = str(tmp_path / "ca.pem")
    with pytest.raises(BackupError, match=f"^config: aws_ca_bundle {missing}: no such file$"):
        Bucket(Connection(**KEYS, aws_ca_bundle=missing), "backups")
