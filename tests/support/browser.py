"""A real headless Chromium (Debian's /usr/bin/chromium) that loads a local page and gives back the
DOM it built, or a picture of it. Each call has a profile directory of its own, so that tests
running at once never share one."""

from __future__ import annotations

import pathlib
import subprocess
import tempfile
from html.parser import HTMLParser

CHROMIUM = "/usr/bin/chromium"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _chromium(page: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *args]
        run = subprocess.run(
            [*command, pathlib.Path(page).as_uri()], capture_output=True, text=True, timeout=120, check=False
        )
    if run.returncode != 0:
        raise AssertionError(f"chromium exited {run.returncode}: {run.stderr[-2000:]}")
    return run


def rendered_dom(page: str) -> str:
    """The page's DOM after Chromium parsed (and, were there any, ran the scripts of) it."""
    return _chromium(page, "--dump-dom").stdout


def screenshot(page: str, png: str, width: int = 1000, height: int = 1400) -> None:
    _chromium(page, f"--screenshot={png}", f"--window-size={width},{height}")


class Elements(HTMLParser):
    """Every element of a serialized DOM (every element closed, as Chromium writes it), in order, as
    (tag, attributes, the text inside it)."""

    def __init__(self, document: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict, list[str]]] = []
        self._open: list[list[str]] = []
        self.feed(document)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs), []))
        if tag not in VOID:
            self._open.append(self.found[-1][2])

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for text in self._open:
            text.append(data)

    def all(self, tag: str, **attributes) -> list[tuple[dict, str]]:
        """(attributes, text) of every ``tag`` whose attributes hold ``attributes``' values."""
        return [
            (attrs, "".join(text))
            for name, attrs, text in self.found
            if name == tag and all(attrs.get(key) == value for key, value in attributes.items())
        ]
