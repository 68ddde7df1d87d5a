import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils import options
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import argument_spec
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BACKUP, backup_request
from ansible_collections.s3napback.s3napback.plugins.modules import s3napback as backup_module


def test_the_module_and_the_config_file_share_every_option_type_and_default():
    spec = argument_spec(backup_module.OPTIONS)
    assert set(spec) == set(BACKUP)
    for name, option in BACKUP.items():
        assert spec[name]["type"] == option.type, name
        assert spec[name].get("default") == option.default, name
        assert spec[name].get("choices") == (list(option.choices) if option.choices else None), name
        assert spec[name].get("no_log") == option.no_log, name
        assert spec[name].get("aliases", []) == list(option.aliases), name


def test_a_job_gets_the_defaults_it_does_not_set():
    request = backup_request(options.typed_options({"directory": "/etc", "bucket": "b"}, BACKUP))
    assert (request.schedule.diffs, request.schedule.fulls, request.compression) == (6, 4, "zstd")
    assert request.source.path == "/etc" and request.encrypt is True


@pytest.mark.parametrize(
    "given, message",
    [
        ({"directroy": "/etc"}, r"unknown option 'directroy' \(did you mean 'directory'\?\)"),
        ({"zzz": "/etc"}, "unknown option 'zzz'"),
        ({"fulls": "4"}, "fulls must be a whole number, not '4'"),
        ({"encrypt": "yes"}, "encrypt must be true or false, not 'yes'"),
        ({"exclude": [1]}, "exclude must be a list of strings"),
        ({"bucket": ["a"]}, "bucket must be a string, not list"),
    ],
)
def test_mistyped_options_are_named(given, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        options.typed_options(given, BACKUP)


def test_a_single_string_is_a_list_of_one_as_in_ansible():
    assert options.typed_options({"gpg_recipient": "a@b"}, BACKUP)["gpg_recipient"] == ["a@b"]
