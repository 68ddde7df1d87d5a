"""Shell blocks of the docs that tests run as written: a fenced block directly after a
``<!-- tested: NAME -->`` line, so the page and the test cannot drift apart."""

from __future__ import annotations

import re

_TESTED_BLOCK = re.compile(r"^<!-- tested: (?P<name>[\w-]+) -->\n```\w*\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def runnable_blocks(path: str) -> dict[str, str]:
    """{name: the block's text} of every tested block of the Markdown file at ``path``."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return {match["name"]: match["body"] for match in _TESTED_BLOCK.finditer(text)}
