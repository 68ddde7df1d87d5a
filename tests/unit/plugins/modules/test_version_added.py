"""Every option of every module and doc fragment says in which release it appeared: users of an
older collection read the docs of the newest one, and ansible-doc shows them `version_added`."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
import yaml

from ansible_collections.s3napback.s3napback.plugins import doc_fragments, modules

# A release number as galaxy.yml writes it; ansible-doc would show anything else verbatim.
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def _documentations():
    for package, attribute in ((modules, None), (doc_fragments, "ModuleDocFragment")):
        for info in pkgutil.iter_modules(package.__path__):
            loaded = importlib.import_module(f"{package.__name__}.{info.name}")
            holder = getattr(loaded, attribute) if attribute else loaded
            yield f"{package.__name__.rsplit('.', 1)[-1]}/{info.name}", yaml.safe_load(holder.DOCUMENTATION)


def options_without_version_added(options: dict | None, path: str = "") -> list[str]:
    """Dotted names of the options, suboptions included, whose `version_added` is absent or no release."""
    missing = []
    for name, spec in (options or {}).items():
        if not SEMVER.match(str(spec.get("version_added", ""))):
            missing.append(path + name)
        missing += options_without_version_added(spec.get("suboptions"), f"{path}{name}.")
    return missing


DOCUMENTATIONS = dict(_documentations())


def test_every_module_and_doc_fragment_is_checked():
    modules = ("s3napback", "s3napback_restore", "s3napback_info", "s3napback_report", "s3napback_probe")
    assert {f"modules/{name}" for name in modules} <= set(DOCUMENTATIONS)
    assert {"doc_fragments/s3_connection", "doc_fragments/database_login"} <= set(DOCUMENTATIONS)


@pytest.mark.parametrize("where", sorted(DOCUMENTATIONS))
def test_every_option_says_in_which_release_it_appeared(where):
    documentation = DOCUMENTATIONS[where]
    fragments = [name for name in documentation.get("extends_documentation_fragment", []) if "s3napback" in name]
    assert documentation.get("options") or fragments, f"{where} documents no option"
    assert options_without_version_added(documentation.get("options")) == []


def test_an_option_or_suboption_without_a_release_is_found():
    options = {
        "kept": {"version_added": "0.1.0", "suboptions": {"inner": {"type": "str"}}},
        "new": {"type": "str"},
        "vague": {"version_added": "soon"},
    }
    assert options_without_version_added(options) == ["kept.inner", "new", "vague"]
