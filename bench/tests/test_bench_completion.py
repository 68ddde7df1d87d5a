"""bench/completion.py reads the server's own durations from s3rver's log: lines captured from a real
s3rver 3.7.1 (a two-part upload of dir/k.gpg, its completion, then a listing)."""

from __future__ import annotations

import threading
import time

import pytest

from bench.completion import CpuSamples, Response, _logged, responses, split
from bench.measure import Measurement

GREEN_INFO = "\x1b[32minfo\x1b[39m: "
UPLOAD = "d1484d304e552c16e06e9e8aa416c7b2"
LOG = [
    (100.0, ""),
    (100.1, "S3rver listening on 127.0.0.1:52647"),
    (100.5, GREEN_INFO + "h/dir/k.gpg?uploads 200 16ms 197b"),
    (100.6, GREEN_INFO + f'Stored part 1 of {UPLOAD} in bucket "bench" successfully'),
    (100.7, GREEN_INFO + f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=1 200 49ms 0b"),
    (100.8, GREEN_INFO + f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=2 200 6ms 0b"),
    (105.0, GREEN_INFO + 'Stored object "dir/k.gpg" in bucket "bench" successfully'),
    (105.1, GREEN_INFO + f"h/dir/k.gpg?uploadId={UPLOAD} 200 4,312ms 260b"),
    (105.2, GREEN_INFO + "?list-type=2&prefix=dir%2F&encoding-type=url 200 11ms 448b"),
]


class FixedCpu(CpuSamples):
    """The server's CPU time as a function of the clock, without a process to sample."""

    def __init__(self, samples: list[tuple[float, float]]):
        self.samples = samples


def test_responses_are_the_lines_with_a_status_and_a_duration():
    found = responses(LOG)
    assert [r.url for r in found] == [
        "h/dir/k.gpg?uploads",
        f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=1",
        f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=2",
        f"h/dir/k.gpg?uploadId={UPLOAD}",
        "?list-type=2&prefix=dir%2F&encoding-type=url",
    ]
    assert found[3] == Response(105.1, f"h/dir/k.gpg?uploadId={UPLOAD}", 4.312)
    assert found[1].seconds == pytest.approx(0.049)


def test_seconds_past_ten_are_whole_seconds():
    assert responses([(1.0, GREEN_INFO + f"h/k?uploadId={UPLOAD} 200 12s 260b")])[0].seconds == 12


def test_split_the_wall_time_at_the_last_part_and_the_completion():
    cpu = FixedCpu([(100.0, 10.0), (100.7, 10.9), (100.8, 11.0), (105.1, 15.5), (105.2, 15.5)])
    result = Measurement(5.5, 9.0, 0, 0, 0, "", "")
    measured = split(100.0, result, responses(LOG), cpu)
    assert measured.wall_s == 5.5
    assert measured.cpu_s == 9.0
    assert measured.parts_stored_s == pytest.approx(0.8)
    assert measured.parts_cpu_s == pytest.approx(1.0)
    assert measured.completing_s == pytest.approx(4.312)
    # from the last sample before the completion started (at 105.1 - 4.312) to the first after it ended
    assert measured.completing_cpu_s == pytest.approx(15.5 - 10.9)


def test_split_volumes_at_the_last_one_stored_with_nothing_to_complete():
    volumes = [
        (100.4, GREEN_INFO + "/dir/k.gpg 200 30ms 0b"),  # a PutObject, or the HEAD after it
        (100.9, GREEN_INFO + "/dir/k.gpg~00002 200 28ms 0b"),
        (101.0, GREEN_INFO + "/dir/k.gpg.json 200 3ms 0b"),
    ]
    cpu = FixedCpu([(100.0, 10.0), (100.9, 11.5), (101.0, 11.6)])
    measured = split(100.0, Measurement(1.2, 2.0, 0, 0, 0, "", ""), responses(volumes), cpu)
    assert measured.parts_stored_s == pytest.approx(0.9) and measured.parts_cpu_s == pytest.approx(1.5)
    assert (measured.completing_s, measured.completing_cpu_s) == (0.0, 0.0)


def test_split_refuses_a_run_that_stored_neither_parts_nor_volumes():
    manifest_only = [(1.0, GREEN_INFO + "/dir/k.gpg.json 200 30ms 0b")]
    with pytest.raises(RuntimeError, match="expected volumes and no multipart upload, saw 0 and 0"):
        split(0.0, Measurement(1.0, 1.0, 0, 0, 0, "", ""), responses(manifest_only), FixedCpu([(0.0, 0.0)]))


def test_logged_waits_for_the_completion_line_that_comes_after_the_answer():
    log = LOG[:6]  # the parts are logged, the completion not yet
    late = threading.Timer(0.3, log.extend, [LOG[6:]])  # as s3rver's reader thread appends it
    late.start()
    started = time.monotonic()
    found = _logged(log, 2)
    late.join()
    assert time.monotonic() - started >= 0.3
    assert found[-2].url == f"h/dir/k.gpg?uploadId={UPLOAD}"


def test_logged_gives_up_after_its_patience_and_split_names_what_is_missing():
    found = _logged(LOG[:6], 2, patience=0.2)
    assert [r.url for r in found] == [
        "h/dir/k.gpg?uploads",
        f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=1",
        f"/dir/k.gpg?uploadId={UPLOAD}&partNumber=2",
    ]
    with pytest.raises(RuntimeError, match="saw 2 and 0"):
        split(100.0, Measurement(5.5, 9.0, 0, 0, 0, "", ""), found, FixedCpu([(100.0, 10.0)]))
