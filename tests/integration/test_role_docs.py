"""The role's documentation is its argument spec: every variable of defaults/main.yml is there,
with the same default, and ansible-doc renders the entry point from the installed collection."""

import json
import os
import re

import yaml
from support.ansible_runner import ROOT, ansible

ROLE = os.path.join(ROOT, "roles", "s3napback")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_every_default_is_documented_with_its_value():
    defaults = load("defaults", "main.yml")
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
        assert options[name]["description"], name


def test_ansible_doc_shows_the_entry_point_options(ansible_env):
    run = ansible("ansible-doc", "-t", "role", "--json", "s3napback.s3napback.s3napback", env=ansible_env)
    (doc,) = json.loads(run.stdout).values()
    main = doc["entry_points"]["main"]
    assert main["short_description"].startswith("Schedule each host's")
    for option in ("s3napback_bucket", "s3napback_jobs", "s3napback_scheduler", "s3napback_secret_key"):
        assert option in main["options"], option
    assert main["options"]["s3napback_scheduler"]["choices"] == ["cron", "systemd"]
    text = ansible("ansible-doc", "-t", "role", "s3napback.s3napback.s3napback", env=ansible_env).stdout
    assert "ENTRY POINT: *main*" in text and "s3napback_host_jobs" in text


def test_the_readmes_fleet_playbook_is_the_example_that_ansible_lint_checks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    section = readme.split("## Fleet quick start", 1)[1]
    shown = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    with open(os.path.join(ROOT, "examples", "fleet", "site.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(shown) == yaml.safe_load(handle)


def _set_by_the_role(tasks):
    """The names the role's tasks set: registers, set_fact keys, task and block vars."""
    for task in tasks or []:
        yield from task.get("vars", {})
        if "register" in task:
            yield task["register"]
        yield from task.get("ansible.builtin.set_fact", {})
        for section in ("block", "rescue", "always"):
            yield from _set_by_the_role(task.get(section))


def test_the_role_shows_only_its_options_and_keeps_its_own_variables_private():
    """ansible-doc and users see the public `s3napback_` options; everything else the role sets
    is `__s3napback_`, and every `s3napback_` name it reads is an option."""
    options = set(load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"])
    internal = set()
    for folder in ("vars", "tasks", "handlers"):
        for name in sorted(os.listdir(os.path.join(ROLE, folder))):
            loaded = load(folder, name)
            internal.update(loaded if folder == "vars" else _set_by_the_role(loaded))
    assert internal and sorted(name for name in internal if not name.startswith("__s3napback_")) == []
    read = set()
    for folder in ("vars", "tasks", "handlers", "templates"):
        for name in os.listdir(os.path.join(ROLE, folder)):
            if name != "prometheus.rules.yml.j2":  # its s3napback_ names are the metrics'
                with open(os.path.join(ROLE, folder, name), encoding="utf-8") as handle:
                    read.update(re.findall(r"(?<![.\w])s3napback_\w+", handle.read()))
    assert sorted(read - options) == []
