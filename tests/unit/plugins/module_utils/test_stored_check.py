"""What counts as the store keeping what was sent: the size always, and the CRC32 where the store
returns one, whole or combined from the parts', with or without S3's ``-<parts>`` suffix."""

from __future__ import annotations

import zlib

from ansible_collections.s3napback.s3napback.plugins.module_utils.stored_check import Kept, Sent, crc32_text, problem

PARTS = [b"a" * 10, b"b" * 10, b"tail"]


def sent_in_parts() -> Sent:
    sent = Sent()
    for number, part in enumerate(PARTS, start=1):
        sent.add(part)
        sent.parts[number] = zlib.crc32(part)
    return sent


def composite() -> str:
    return crc32_text(zlib.crc32(b"".join(zlib.crc32(part).to_bytes(4, "big") for part in PARTS)))


def test_a_store_that_returns_no_checksum_is_held_to_the_size():
    sent = sent_in_parts()
    assert problem(sent, Kept(24)) is None
    assert problem(sent, Kept(65)) == "the store kept 65 bytes of 24 sent"
    assert problem(sent, Kept(23)) == "the store kept 23 bytes of 24 sent"


def test_a_multipart_objects_checksum_is_its_parts_combined_with_or_without_the_suffix():
    sent = sent_in_parts()
    assert problem(sent, Kept(24, f"{composite()}-3")) is None
    assert problem(sent, Kept(24, composite())) is None  # moto leaves the suffix out
    assert problem(sent, Kept(24, crc32_text(zlib.crc32(b"".join(PARTS))))) is None  # S3's FULL_OBJECT type
    assert (
        problem(sent, Kept(24, f"{composite()}-2"))
        == f"the store's CRC32 is {composite()}-2, not that of the bytes sent"
    )


def test_one_put_is_checked_against_the_crc32_of_its_body():
    sent = Sent()
    sent.add(b"{}\n")
    assert problem(sent, Kept(3, crc32_text(zlib.crc32(b"{}\n")))) is None
    assert problem(sent, Kept(3, crc32_text(zlib.crc32(b"{}!")))) is not None
