"""Listings that take more than one page: the engine follows S3's continuation itself (botocore's
paginators would load their model on every run), so every page must be read, and a server that
says "truncated" without a way on must fail the listing rather than end it short."""

import pytest
from support.faulty_proxy import FaultyProxy
from support.fixtures import engine_connection

from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket


def small_pages(url, bucket):
    engine = Bucket(engine_connection(url), bucket)
    engine.page_size = 2
    return engine


def test_every_page_of_objects_is_listed(moto, s3, bucket):
    keys = [f"set/{n:02d}.gpg" for n in range(5)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_object(Bucket=bucket, Key="other/x.gpg", Body=b"x")
    requests = []
    with FaultyProxy(moto.port, lambda method, path, query: requests.append(query)) as proxy:
        listed = small_pages(proxy.url, bucket).list_objects("set/")
    assert listed == [(key, len(key)) for key in keys]
    assert sum("list-type" in query for query in requests) == 3  # pages of 2, 2 and 1


def test_every_page_of_unfinished_uploads_is_listed(moto, s3, bucket):
    keys = [f"set/{n}.gpg" for n in range(5)]
    started = {s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]: key for key in keys}
    requests = []
    try:
        with FaultyProxy(moto.port, lambda method, path, query: requests.append(query)) as proxy:
            uploads = small_pages(proxy.url, bucket).open_uploads("set/")
    finally:
        for upload_id, key in started.items():
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert {upload["upload_id"]: upload["key"] for upload in uploads} == started
    assert [query["max-uploads"] for query in requests] == [["2"]]  # moto answers it with one page


def test_the_next_page_of_uploads_starts_at_both_markers(moto, bucket):
    # moto ignores max-uploads, so these pages are made up: what matters is the next request
    pages = iter(
        [
            {"IsTruncated": True, "NextKeyMarker": "set/1", "NextUploadIdMarker": "u1", "Uploads": [{}, {}]},
            {"IsTruncated": False, "Uploads": [{}]},
        ]
    )
    asked = []

    def call(**request):
        asked.append(request)
        return next(pages)

    markers = {"KeyMarker": "NextKeyMarker", "UploadIdMarker": "NextUploadIdMarker"}
    assert len(list(small_pages(moto.url, bucket)._pages(call, {"Prefix": "set/"}, markers))) == 2
    assert asked == [{"Prefix": "set/"}, {"Prefix": "set/", "KeyMarker": "set/1", "UploadIdMarker": "u1"}]


def test_a_truncated_page_with_no_way_on_fails_the_listing(moto, bucket):
    engine = small_pages(moto.url, bucket)
    pages = iter([{"IsTruncated": True, "Contents": [{"Key": "set/a", "Size": 1}]}])
    with pytest.raises(BackupError, match=r"^s3: .* sent a truncated listing with no way to go on$"):
        list(engine._pages(lambda **_asked: next(pages), {}, {"ContinuationToken": "NextContinuationToken"}))
