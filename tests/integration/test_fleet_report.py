"""The fleet report as people see it: real backups of three hosts in the S3 server, the report the
s3napback_report module writes, loaded in a real headless Chromium; and a bucket whose keys carry
markup, which must stay text. And s3napback_info, which reads the same fleet, changes nothing."""

import datetime
import json
import os
import stat

from support import trees
from support.ansible_runner import ROOT, ansible
from support.browser import Elements, rendered_dom, screenshot
from support.fixtures import ACCESS_KEY, SECRET_KEY, engine_connection
from support.keys import RECIPIENT

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.fleet_report import render
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import backup_request
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket

SCREENSHOT = os.path.join(ROOT, "tests", "output", "fleet-report.png")
# host: (source directory, days ago of each backup); diffs=1 makes full, diff, full.
FLEET = {"web1": [("etc", (2, 1, 0)), ("www", (2, 1))], "web2": [("etc", (1, 0))], "db1": [("etc", (2,))]}


def connection(moto):
    return engine_connection(moto.url)


def back_up_the_fleet(tmp_path, moto, bucket, keys, now):
    """FLEET's backups, each an hour before ``now`` minus its days: {(host, set name): days}."""
    made = {}
    for source in ("etc", "www"):
        trees.build_tree(str(tmp_path / source))
    for host, sets in FLEET.items():
        for source, days in sets:
            request = backup_request(
                {
                    **{"directory": str(tmp_path / source), "bucket": bucket, "prefix": host, "diffs": 1},
                    **{"endpoint_url": moto.url, "region": "us-east-1", "access_key": ACCESS_KEY},
                    **{"secret_key": SECRET_KEY, "gpg_recipient": [RECIPIENT], "gpg_public_key": keys.public_key},
                    "state_dir": str(tmp_path / "state" / host),
                }
            )
            for ago in days:
                run_backup(request, now=now - datetime.timedelta(days=ago, hours=1))
            made[(host, request.set_name)] = days
    return made


def stored(s3, bucket, host, name):
    """What the S3 server holds for a set: its bytes and its backups' kinds, oldest first."""
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{host}/{name}/")["Contents"]
    data = sorted(item["Key"] for item in listing if not item["Key"].endswith((".json", ".index")))
    return sum(item["Size"] for item in listing), [key.rsplit("/", 1)[1].split("-")[1].split(".")[0] for key in data]


def run_module(name, ansible_env, moto, *extra, **options):
    """An s3napback module through ansible, credentials in the environment: its result."""
    env = {**ansible_env, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    arguments = json.dumps({"endpoint_url": moto.url, "region": "us-east-1", **options})
    module = ["-m", f"s3napback.s3napback.{name}", "-a", arguments]
    run = ansible("ansible", "localhost", "-i", "localhost,", "-c", "local", *module, *extra, env=env, check=False)
    return json.loads(run.stdout.split("=>", 1)[1])


def objects(s3, bucket):
    """Every object of the bucket with its ETag and time, and the open multipart uploads."""
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted((item["Key"], item["ETag"], item["LastModified"]) for item in listed), uploads


def files_under(path):
    """Every file and directory under ``path`` with its size, mode and mtime, but ansible's own
    temporary directory (ansible_env's ANSIBLE_LOCAL_TEMP, whose making touches ``path``)."""
    found = {}
    for directory, dirs, names in os.walk(path):
        dirs[:] = [name for name in dirs if name != "ansible-tmp"]
        for name in [*dirs, *names]:
            each = os.lstat(os.path.join(directory, name))
            found[os.path.join(directory, name)] = (each.st_size, each.st_mode, each.st_mtime_ns)
    return found


def rows_by_host(elements):
    """{host: {set name: {cell class: text, "data-bytes": int}}} of the report's tables."""
    rows: dict = {}
    for tag, attributes, text in elements.found:
        if tag == "section":
            host = rows.setdefault(attributes["data-host"], {})
        elif tag == "tr" and "data-bytes" in attributes:
            row = {"data-bytes": int(attributes["data-bytes"]), "classes": attributes["class"].split()}
        elif tag == "td":
            row[attributes["class"]] = "".join(text)
            host[row["name"]] = row
    return rows


def test_the_modules_report_in_chromium_has_each_hosts_sets_and_a_series_per_host(
    tmp_path, ansible_env, moto, s3, bucket, keys
):
    made = back_up_the_fleet(tmp_path, moto, bucket, keys, datetime.datetime.now(datetime.timezone.utc))
    report = tmp_path / "fleet.html"
    checked = run_module("s3napback_report", ansible_env, moto, "--check", bucket=bucket, path=str(report))
    assert checked["changed"] is True and not report.exists()
    result = run_module("s3napback_report", ansible_env, moto, bucket=bucket, path=str(report))
    assert result["changed"] is True and result["path"] == str(report)
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert [name for name in os.listdir(tmp_path) if name.startswith(".s3napback-report")] == []
    listed = run_module("s3napback_info", ansible_env, moto, bucket=bucket)
    assert [len(s["history"]) for s in listed["sets"]] == [len(made[(s["prefix"], s["name"])]) for s in listed["sets"]]

    elements = Elements(rendered_dom(str(report)))
    rows = rows_by_host(elements)
    assert list(rows) == sorted(FLEET)
    assert sorted((host, name) for host, sets in rows.items() for name in sets) == sorted(made)
    for (host, name), days in made.items():
        row = rows[host][name]
        size, kinds = stored(s3, bucket, host, name)
        assert len(kinds) == len(days) and row["data-bytes"] == size > 0
        assert (row["backups number"], row["kind"]) == (str(len(days)), kinds[-1])
        assert row["chains number"] == str(kinds.count("full"))
        assert row["problems"] == ""
        assert ("stale" in row["classes"]) == (min(days) * 24 + 1 > 26)

    charts = elements.all("svg")
    assert len(charts) == 2
    series = [attributes for attributes, _text in elements.all("g") if attributes.get("class") == "series"]
    assert [attributes["data-host"] for attributes in series] == sorted(FLEET)
    lines = [attributes["points"].split() for attributes, _text in elements.all("polyline")]
    assert [len(points) for points in lines] == [len({d for _s, days in FLEET[h] for d in days}) for h in sorted(FLEET)]
    bars = {attributes["data-host"]: attributes["class"] for attributes, _text in elements.all("rect")}
    assert bars == {"db1": "bar stale", "web1": "bar fresh", "web2": "bar fresh"}

    screenshot(str(report), SCREENSHOT)
    with open(SCREENSHOT, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_markup_in_key_names_stays_text_in_chromium(tmp_path, moto, s3, bucket):
    host = 'x"><img src=x onerror=alert(1)></td><script>alert(2)</script>'
    name = "<svg onload=alert(3)>&amp;"
    full, stray = (f"{host}/{name}/20261126T0{n}0000Z-{kind}.tar.zst.gpg" for n, kind in ((1, "full"), (2, "diff")))
    for key, body in ((full, b"data"), (full + ".json", b"{}"), (stray, b"no manifest came")):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    now = datetime.datetime(2026, 11, 27, tzinfo=datetime.timezone.utc)
    report = tmp_path / "hostile.html"
    report.write_text(render(describe_bucket(Bucket(connection(moto), bucket), now=now), bucket, now))

    elements = Elements(rendered_dom(str(report)))
    tags = [tag for tag, _attributes, _text in elements.found]
    assert "script" not in tags and "img" not in tags and tags.count("svg") == 2
    assert not [key for _tag, attributes, _text in elements.found for key in attributes if key.startswith("on")]
    rows = rows_by_host(elements)
    assert list(rows) == [host] and list(rows[host]) == [name]
    assert elements.all("h2")[-1][1] == host
    assert rows[host][name]["problems"] == f"object without its manifest (a failed run?): {stray}"
    series = [attributes["data-host"] for attributes, _text in elements.all("g") if attributes.get("class") == "series"]
    assert series == [host]


def test_the_report_is_changed_only_when_its_page_or_mode_would_change(tmp_path, ansible_env, moto, s3, bucket):
    report = tmp_path / "fleet.html"

    def run(*extra, **options):
        return run_module("s3napback_report", ansible_env, moto, *extra, bucket=bucket, path=str(report), **options)

    assert run(mode="0640")["changed"] is True and stat.S_IMODE(report.stat().st_mode) == 0o640
    # The page says its minute: a run after one that wrote is the same, unless a minute began between.
    assert (run()["changed"] is False or run()["changed"] is False) and stat.S_IMODE(report.stat().st_mode) == 0o640
    s3.put_object(Bucket=bucket, Key="web1/dir-etc/20261126T031500Z-full.tar.zst.gpg", Body=b"no manifest came")
    page = report.read_bytes()
    assert run("--check")["changed"] is True and report.read_bytes() == page
    assert run()["changed"] is True and b"object without its manifest" in report.read_bytes()
    assert run("--check", mode="0600")["changed"] is True
    assert stat.S_IMODE(report.stat().st_mode) == 0o640 and list(files_under(tmp_path)) == [str(report)]


def test_the_info_module_changes_neither_the_bucket_nor_any_file(tmp_path, ansible_env, moto, s3, bucket, keys):
    back_up_the_fleet(tmp_path, moto, bucket, keys, datetime.datetime.now(datetime.timezone.utc))
    s3.create_multipart_upload(Bucket=bucket, Key="web1/dir-etc/20261126T031500Z-full.tar.zst.gpg")
    before, files = objects(s3, bucket), files_under(tmp_path)
    for extra in ((), ("--check",)):
        for prefix in ({}, {"prefix": "web1"}):
            result = run_module("s3napback_info", ansible_env, moto, *extra, bucket=bucket, **prefix)
            assert result["changed"] is False and result["sets"] and "problems" in result, result
    assert objects(s3, bucket) == before and files_under(tmp_path) == files
    for writes in ({"html_report": str(tmp_path / "fleet.html")}, {"probe": True}):
        refused = run_module("s3napback_info", ansible_env, moto, bucket=bucket, **writes)
        assert refused["msg"].startswith(f"unknown option {next(iter(writes))!r}"), refused
    assert objects(s3, bucket) == before and files_under(tmp_path) == files
