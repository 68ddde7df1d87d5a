"""The collection as Galaxy ships it: a built tarball holds no test output or caches, and the
module, the role and the docs work from it installed into an empty path; so does an install
straight from the git repository."""

import json
import os
import sys
import tarfile

import pytest
from support.ansible_runner import ROOT, ansible

SHIPPED = (
    "MANIFEST.json",
    "meta/runtime.yml",
    "plugins/modules/s3napback.py",
    "plugins/module_utils/backup.py",
    "plugins/filter/s3napback_plan.py",
    "roles/s3napback/meta/argument_specs.yml",
    "roles/s3napback/tasks/main.yml",
    "docs/RELIABILITY.md",
)
NEVER = ("tests/output/", ".venv/", "__pycache__/", ".pytest_cache/", ".ruff_cache/", ".git/", "constraints.txt")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    ansible("ansible-galaxy", "collection", "build", ROOT, "--output-path", str(out), env=env)
    (built,) = out.iterdir()
    return built


def test_the_tarball_ships_the_collection_and_nothing_of_the_workbench(tarball):
    assert tarball.name == "s3napback-s3napback-0.1.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for shipped in SHIPPED:
        assert shipped in names, shipped
    assert not [name for name in names if any(part in f"{name}/" for part in NEVER)]


def test_module_role_and_docs_run_from_the_installed_tarball(tarball, tmp_path, moto, s3, bucket):
    path = tmp_path / "collections"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(path),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
    }
    ansible("ansible-galaxy", "collection", "install", str(tarball), "-p", str(path), env=env)
    arguments = {
        "bucket": bucket,
        "endpoint_url": moto.url,
        "access_key": "a",
        "secret_key": "b",
        "region": "us-east-1",
    }
    command = ["localhost", "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"]
    info = ansible(
        "ansible", *command, "-m", "s3napback.s3napback.s3napback_info", "-a", json.dumps(arguments), env=env
    )
    assert "localhost | SUCCESS => " in info.stdout
    doc = ansible("ansible-doc", "-t", "role", "s3napback.s3napback.s3napback", env=env)
    assert "s3napback_jobs" in doc.stdout
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: s3napback.s3napback.s3napback\n"
    )
    variables = {
        "s3napback_bucket": bucket,
        "s3napback_install_packages": False,
        "s3napback_jobs": [{"name": "etc", "directory": "/etc"}],
        "s3napback_gpg_recipient": ["backup@example.com"],
    }
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    cron_file_before = os.path.exists("/etc/cron.d/s3napback")
    play = ["-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"]
    run = ansible("ansible-playbook", *play, "--check", "-e", f"@{tmp_path / 'vars.json'}", str(playbook), env=env)
    assert "failed=0" in run.stdout and "changed=" in run.stdout
    assert os.path.exists("/etc/cron.d/s3napback") == cron_file_before  # check mode changed nothing


def test_install_straight_from_git(tmp_path):
    if not os.path.isdir(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    path = tmp_path / "collections"
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    # --force: ansible-galaxy skips a collection that `make demo` installed where ansible.cfg points
    ansible("ansible-galaxy", "collection", "install", "--force", f"git+file://{ROOT}", "-p", str(path), env=env)
    installed = path / "ansible_collections" / "s3napback" / "s3napback"
    assert (installed / "plugins" / "modules" / "s3napback.py").exists()
    assert (installed / "roles" / "s3napback" / "tasks" / "main.yml").exists()
