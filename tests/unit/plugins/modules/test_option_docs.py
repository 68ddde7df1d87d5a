"""Each module's options are written once, in a table of the engine (options.py, request.py,
set_request.py, browse.py), from which its argument spec, the host command's config schema and its
request are made. Its DOCUMENTATION and README's options table are written by hand beside it: these
tests hold them to the table, attribute by attribute."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re

import pytest
import yaml
from ansible.module_utils.basic import FILE_COMMON_ARGUMENTS
from support.collection import MODULES

from ansible_collections.s3napback.s3napback.plugins.module_utils import browse, options, request, s3, schedule
from ansible_collections.s3napback.s3napback.plugins.module_utils.databases import Login
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import argument_spec
from ansible_collections.s3napback.s3napback.plugins.module_utils.protection import Protection
from ansible_collections.s3napback.s3napback.plugins.module_utils.rotation import Retention

README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "README.md")
# The words ansible-test's validate-modules takes for a secret: such an option must say whether it is one.
SECRET_LIKE = re.compile(r"pass(?!ive)|secret|token|key", re.IGNORECASE)
# Of those, the ones that are secrets: Ansible must hide them in logs and results.
SECRET = re.compile(r"password|passphrase|secret|token|private", re.IGNORECASE)


def _module(name: str):
    return importlib.import_module(f"ansible_collections.s3napback.s3napback.plugins.modules.{name}")


def documented_options(name: str) -> dict:
    """The module's options as ansible-doc shows them: its own and its doc fragments'."""
    documentation = yaml.safe_load(_module(name).DOCUMENTATION)
    found: dict = {}
    for fragment in documentation.get("extends_documentation_fragment", []):
        collection, short = fragment.rpartition(".")[::2]
        if collection != "s3napback.s3napback":
            continue
        loaded = importlib.import_module(f"ansible_collections.s3napback.s3napback.plugins.doc_fragments.{short}")
        found.update(yaml.safe_load(loaded.ModuleDocFragment.DOCUMENTATION)["options"])
    found.update(documentation.get("options", {}))  # s3napback_info has only its fragments
    if "ansible.builtin.files" in documentation.get("extends_documentation_fragment", []):
        # add_file_common_args brings these; a module may document one of them its own way (mode)
        found = {name: doc for name, doc in found.items() if name not in FILE_COMMON_ARGUMENTS}
    return found


def differences(table: dict, documented: dict) -> list[str]:
    """Every attribute in which the documentation and the table of options disagree."""
    found = [f"{name}: in the table, not documented" for name in table.keys() - documented.keys()]
    found += [f"{name}: documented, not in the table" for name in documented.keys() - table.keys()]
    for name in sorted(table.keys() & documented.keys()):
        option, doc = table[name], documented[name]
        description = " ".join(doc["description"]) if isinstance(doc["description"], list) else doc["description"]
        pairs = {
            "type": (option.type, doc.get("type")),
            "elements": ("str" if option.type == "list" else None, doc.get("elements")),
            "default": (option.default, doc.get("default")),
            "choices": (list(option.choices) if option.choices else None, doc.get("choices")),
            "required": (option.required, doc.get("required", False)),
            "aliases": (list(option.aliases), doc.get("aliases", [])),
            "version_added": (option.version_added, str(doc.get("version_added"))),
            "env": (list(option.env), re.findall(r"E\((\w+)\)", description)[: len(option.env)]),
        }
        found += [
            f"{name}: {what} {mine!r} in the table, {theirs!r} documented"
            for what, (mine, theirs) in pairs.items()
            if mine != theirs
        ]
        if SECRET_LIKE.search(name) and option.no_log is None:
            found.append(f"{name}: Ansible takes it for a secret; the table must say no_log true or false")
        if SECRET.search(name) and option.no_log is not True:
            found.append(f"{name}: a secret, without no_log true")
    return found


@pytest.mark.parametrize("name", MODULES)
def test_the_documentation_says_what_the_table_says(name):
    assert differences(_module(name).OPTIONS, documented_options(name)) == []


def test_a_difference_in_any_attribute_is_found():
    table = {
        "a": options.Option("str", choices=("x", "y"), aliases=("b",), env=("A_ENV",)),
        "token": options.Option("str"),
        "login_password": options.Option("str", no_log=False),
        "gone": options.Option("int"),
    }
    documented = {
        "a": {"description": "From E(A_ENV).", "type": "str", "choices": ["y", "x"], "version_added": "0.1.0"},
        "token": {"description": "t", "type": "str", "default": "t", "version_added": "0.2.0"},
        "new": {"description": "n", "type": "str", "version_added": "0.1.0"},
        "login_password": {"description": "p", "type": "str", "version_added": "0.1.0"},
    }
    assert differences(table, documented) == [
        "gone: in the table, not documented",
        "new: documented, not in the table",
        "a: choices ['x', 'y'] in the table, ['y', 'x'] documented",
        "a: aliases ['b'] in the table, [] documented",
        "login_password: a secret, without no_log true",
        "token: default None in the table, 't' documented",
        "token: version_added '0.1.0' in the table, '0.2.0' documented",
        "token: Ansible takes it for a secret; the table must say no_log true or false",
        "token: a secret, without no_log true",
    ]


@pytest.mark.parametrize("name", MODULES)
def test_the_argument_spec_is_the_table(name):
    table = _module(name).OPTIONS
    spec = argument_spec(table)
    assert list(spec) == list(table)
    for option_name, option in table.items():
        assert spec[option_name]["type"] == option.type
        assert spec[option_name].get("default") == option.default
        assert spec[option_name].get("no_log") == option.no_log
        assert spec[option_name].get("fallback", (None, []))[1] == list(option.env)


def _fields(*classes) -> set[str]:
    return {field.name for cls in classes for field in dataclasses.fields(cls)}


SOURCE_OPTIONS = {*request.SOURCES, "exclude", "all_in_one", "mysqldump_options"}  # they make the source


@pytest.mark.parametrize(
    "table, takers",
    [
        (request.BACKUP, _fields(request.BackupRequest, s3.Connection, schedule.Schedule, Protection, Retention)),
        (request.RESTORE, _fields(request.RestoreRequest, s3.Connection)),
        (browse.BROWSE, _fields(browse.BrowseRequest, s3.Connection)),
    ],
    ids=["backup", "restore", "file_info"],
)
def test_every_option_reaches_its_request(table, takers):
    login = {name if name == "config_file" else f"login_{name}" for name in _fields(Login)}
    assert set(table) - takers - login - SOURCE_OPTIONS == set()
    assert set(options.LOGIN) == login


def readme_rows() -> dict[str, str]:
    """README's table of the backup options: each option's default cell."""
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## Options of `s3napback.s3napback.s3napback`", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `"):
            for name in re.findall(r"`(\w+)`", cells[0]):
                assert name not in rows, f"{name} is in two rows"
                rows[name] = cells[1]
    return rows


def _shown(value) -> str:
    return (
        f"`{str(value).lower()}`" if isinstance(value, bool) else f"`{value}`" if isinstance(value, str) else str(value)
    )


def test_the_readme_table_has_every_backup_option_with_its_default():
    rows = readme_rows()
    assert set(rows) == set(request.BACKUP)
    for name, option in request.BACKUP.items():
        if option.default not in (None, []):
            assert _shown(option.default) in rows[name], name


def test_the_config_file_knows_every_secret_of_the_table():
    assert options.secrets(request.BACKUP) == ("login_password", "secret_key", "session_token")
