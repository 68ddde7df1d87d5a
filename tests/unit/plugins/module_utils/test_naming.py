import datetime

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming


def test_clean_paths_give_readable_names():
    assert naming.source_name("dir", "/etc") == "dir-etc"
    assert naming.source_name("dir", "/var/www/site-1.example") == "dir-var_www_site-1.example"


@pytest.mark.parametrize(
    "first, second",
    [
        ("/a/b_c", "/a_b/c"),
        ("/a/b c", "/a/b_c"),
        ("/var/www", "/var_www"),
        ("/", "/root"),
        ("/x/y", "/x/y/"),
    ],
)
def test_different_sources_never_share_a_name(first, second):
    if first.rstrip("/") == second.rstrip("/"):
        assert naming.source_name("dir", first) == naming.source_name("dir", second)
    else:
        assert naming.source_name("dir", first) != naming.source_name("dir", second)


def test_unusual_paths_get_a_valid_name():
    for path in ["/", "/a b/c", "/tmp/\udcff\udcfe", "/" + "x" * 300, "/-leading/dash"]:
        name = naming.source_name("dir", path)
        assert naming.name_problem(name) is None, (path, name)


def test_set_ids_differ_by_bucket_prefix_endpoint_and_name():
    base = naming.set_id("http://a", "b", "p", "dir-etc")
    others = {
        naming.set_id("http://b", "b", "p", "dir-etc"),
        naming.set_id("http://a", "c", "p", "dir-etc"),
        naming.set_id("http://a", "b", "q", "dir-etc"),
        naming.set_id("http://a", "b", "p", "dir-et"),
    }
    assert base.startswith("dir-etc.") and base not in others and len(others) == 4


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "", ".hidden", "x" * 201, "sp ace", "new\nline"])
def test_bad_names_are_refused(name):
    assert naming.name_problem(name)


@pytest.mark.parametrize("prefix", ["a//b", "../x", "a/./b", "tab\there"])
def test_bad_prefixes_are_refused(prefix):
    assert naming.prefix_problem(prefix)


def test_good_prefixes_pass():
    assert naming.prefix_problem("") is None
    assert naming.prefix_problem("web1.example.com") is None
    assert naming.prefix_problem("prod/web1") is None


def test_keys_sort_in_creation_order_and_parse_back():
    early = datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    late = early + datetime.timedelta(seconds=1)
    first = naming.data_key("h", "dir-etc", naming.stamp(early), "full", ".tar.zst.gpg")
    second = naming.data_key("h", "dir-etc", naming.stamp(late), "diff", ".tar.zst.gpg")
    assert first < second
    parts = naming.parse_data_key(second.rsplit("/", 1)[1])
    assert (parts.kind, parts.extension) == ("diff", ".tar.zst.gpg")
    assert naming.parse_stamp(parts.stamp) == late
    assert naming.parse_data_key(naming.manifest_key(second).rsplit("/", 1)[1]) is None
    assert naming.parse_data_key("notes.txt") is None


def test_an_empty_prefix_puts_sets_at_the_top():
    assert naming.set_prefix("", "dir-etc") == "dir-etc/"
    assert naming.set_prefix("h", "dir-etc") == "h/dir-etc/"


def test_volumes_after_the_first_carry_their_number_and_are_never_data_keys():
    data = naming.data_key("h", "dir-etc", "20261205T031500Z", "full", ".tar.zst.gpg")
    assert naming.volume_key(data, 1) == data
    assert naming.volume_key(data, 2) == data + "~00002"
    assert naming.volume_key(data, 123456) == data + "~123456"
    assert naming.parse_volume_key(naming.volume_key(data, 2)) == (data, 2)
    assert naming.parse_volume_key(naming.volume_key(data, 123456)) == (data, 123456)
    assert naming.parse_data_key(naming.volume_key(data, 2).rsplit("/", 1)[1]) is None
    assert sorted(naming.volume_key(data, number) for number in (10, 2, 9999)) == [
        naming.volume_key(data, number) for number in (2, 10, 9999)
    ]
    for other in (data, data + "~00001", data + "~0002", data + "~0000x", naming.manifest_key(data)):
        assert naming.parse_volume_key(other) is None
