import os
import re

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.compression import compressor
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BackupRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection
from ansible_collections.s3napback.s3napback.plugins.module_utils.sources import DirectorySource
from ansible_collections.s3napback.s3napback.plugins.module_utils.version import VERSION

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))


def request(**overrides):
    values = {"source": DirectorySource("/etc"), "bucket": "b", "gpg_recipient": ["r"], "prefix": "h"}
    return BackupRequest(**{**values, **overrides})


def test_a_plain_request_has_no_problems():
    assert request().problems() == []
    assert request().set_name == "dir-etc"
    assert request(prefix="/a/b/").key_prefix == "a/b"


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"gpg_recipient": []}, "gpg_recipient is required"),
        ({"encrypt": False}, "encrypt is false but gpg_recipient"),
        ({"encrypt": False, "gpg_recipient": [], "gpg_public_key": "k"}, "encrypt is false but"),
        ({"compression": "lzma"}, "compression must be one of"),
        ({"compression_level": 20}, "compression_level for zstd must be from 1 to 19"),
        ({"compression": "gzip", "compression_level": 0}, "compression_level for gzip must be from 1 to 9"),
        ({"compression": "none", "compression_level": 3}, "needs a compression other than none"),
        ({"state_dir": "relative/dir"}, "must be an absolute path"),
        ({"name": "../up"}, "contain no '/' or '..'"),
        ({"prefix": "a//b"}, "prefix 'a//b'"),
        ({"bucket": ""}, "bucket must not be empty"),
        ({"upload_concurrency": 0}, "upload_concurrency"),
    ],
)
def test_each_bad_request_names_its_problem(overrides, words):
    problems = request(**overrides).problems()
    assert len(problems) == 1 and words in problems[0], problems


def test_unknown_compressor_is_a_config_error():
    with pytest.raises(BackupError, match=r"^config: compression must be one of zstd, gzip, none"):
        compressor("brotli")


def test_the_engine_version_is_the_collection_and_package_version():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        assert re.search(r"^version: (\S+)$", handle.read(), re.MULTILINE).group(1) == VERSION
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as handle:
        assert re.search(r'^version = "(\S+)"$', handle.read(), re.MULTILINE).group(1) == VERSION


def test_verify_lets_botocore_find_the_bundle_unless_one_is_given_or_checks_are_off():
    assert Connection().verify is None  # botocore then reads AWS_CA_BUNDLE and the config's ca_bundle
    assert Connection(aws_ca_bundle="/etc/ca.pem").verify == "/etc/ca.pem"
    assert Connection(validate_certs=False, aws_ca_bundle="/etc/ca.pem").verify is False
