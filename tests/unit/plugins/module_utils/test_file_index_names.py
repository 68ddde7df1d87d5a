# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Names as tar's --quoting-style=c writes them, read back to their bytes."""

from __future__ import annotations

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.file_index import DamagedIndex, display, unquote


@pytest.mark.parametrize(
    ("quoted", "name"),
    [
        ('"./etc/app.conf"', b"./etc/app.conf"),
        ('"./new\\nline"', b"./new\nline"),
        ('"./bad\\377name"', b"./bad\xffname"),
        ('"./caf\\303\\251"', "./café".encode()),
        ('"./q\\"uote\\\\back"', b'./q"uote\\back'),
        ('"./\\a\\b\\f\\r\\t\\v\\?"', b"./\a\b\f\r\t\v?"),
        ('"./\\0017"', b"./\x017"),  # three octal digits at most, as C reads them
        ('"./tab\\11x"', b"./tab\tx"),
    ],
)
def test_a_quoted_name_reads_back_to_its_bytes(quoted, name):
    assert unquote(quoted) == name


@pytest.mark.parametrize("quoted", ['"./a\\qb"', '"./a\\400"'])
def test_a_bad_escape_is_a_damaged_index(quoted):
    with pytest.raises(DamagedIndex, match="bad escape"):
        unquote(quoted)


def test_display_shows_what_unquote_read_as_tar_escapes_it():
    assert display(unquote('"bad\\377name"')) == "bad\\377name"
    assert display(unquote('"new\\nline"')) == "new\\012line"
