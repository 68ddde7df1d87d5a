"""tests/scripts/ansible_test_pip_bootstrap.py: the pip bootstrap that lets `ansible-test sanity
--venv` run where only the package registries are reachable. Run here as ansible-test runs it: its
own quiet_pip.py executes the script in a virtualenv without pip, from an empty HOME."""

import os
import subprocess
import sys

import ansible_test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tests", "scripts", "ansible_test_pip_bootstrap.py")
QUIET_PIP = os.path.join(os.path.dirname(ansible_test.__file__), "_util", "target", "setup", "quiet_pip.py")


def test_the_written_script_installs_the_pip_ansible_test_asks_for_into_a_venv_without_pip(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    written = subprocess.run(
        [sys.executable, SCRIPT], capture_output=True, text=True, env={**os.environ, "HOME": str(home)}, check=False
    )
    assert written.returncode == 0, written.stderr
    path = written.stdout.strip()
    cache = home / ".ansible" / "test" / "cache"
    assert os.path.dirname(path) == str(cache) and os.listdir(cache) == [os.path.basename(path)]
    version = os.path.basename(path)[len("get_pip_") : -len(".py")].replace("_", ".")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode != 0
    # What ansible-test's requirements.py bootstrap() runs: quiet_pip.py with GET_PIP set.
    options = ["--disable-pip-version-check", f"pip=={version}", "--no-setuptools", "--no-wheel"]
    env = {**os.environ, "HOME": str(home), "GET_PIP": path}
    bootstrapped = subprocess.run([python, QUIET_PIP, *options], capture_output=True, text=True, env=env, check=False)
    assert bootstrapped.returncode == 0, bootstrapped.stdout + bootstrapped.stderr
    shown = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    assert shown.stdout.startswith(f"pip {version} from {venv}/lib/"), shown.stdout


def test_a_python_without_ansible_test_gets_one_line(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    run = subprocess.run([str(bare / "bin" / "python"), SCRIPT], capture_output=True, text=True, check=False)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(f"ansible-test pip bootstrap: {bare}/bin/python has no ansible-test: ")
    assert run.stderr.count("\n") == 1
