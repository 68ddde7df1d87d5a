# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs, library checks and the run shared by s3napback's modules: the one module_utils
file that imports Ansible; the engine beside it does not."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from . import gc_tuning, s3
from .errors import BackupError, Terminated
from .options import Option, unknown_option
from .termination import stop_on_signals, stop_when_unheard


def argument_spec(table: dict[str, Option]) -> dict:
    """Ansible's argument spec of a table of options (options.py)."""
    return {name: _spec(option) for name, option in table.items()}


def _spec(option: Option) -> dict:
    spec: dict = {"type": option.type}
    if option.type == "list":
        spec["elements"] = "str"
    if option.default is not None:
        spec["default"] = option.default
    if option.choices is not None:
        spec["choices"] = list(option.choices)
    if option.required:
        spec["required"] = True
    if option.no_log is not None:
        spec["no_log"] = option.no_log
    if option.aliases:
        spec["aliases"] = list(option.aliases)
    if option.env:
        spec["fallback"] = (env_fallback, list(option.env))
    return spec


# Each library a module may need, and how to tell it is there without importing it: a module that
# does not use gpg must not load the engine's gpg side to find out.
LIBRARIES = {
    "boto3": s3.botocore_available,
    "python-gnupg": lambda: importlib.util.find_spec("gnupg") is not None,
}


def require_libraries(module, libraries) -> None:
    """Fail the task with Ansible's standard message when one of ``libraries`` (names of
    LIBRARIES) is missing: boto3 stands for the botocore it brings."""
    for name in libraries:
        if not LIBRARIES[name]():
            module.fail_json(msg=missing_required_lib(name))


class _Module(AnsibleModule):
    """AnsibleModule whose failed option check names a mistyped option first. Ansible reports the
    rule it broke instead ("one of the following is required: directory, ..." for `direktory`), and
    names the option only when no other rule failed."""

    def fail_json(self, msg, **kwargs):
        checked = getattr(self, "validation_result", None)  # set once the options were checked
        unknown = sorted(name for name in checked.unsupported_parameters if isinstance(name, str)) if checked else []
        if unknown and not kwargs:
            known = set(self.argument_spec)
            known.update(alias for spec in self.argument_spec.values() for alias in spec.get("aliases", []))
            msg = unknown_option(unknown[0], known)
        super().fail_json(msg=msg, **kwargs)


INTERRUPTED = (
    "{cause}: interrupted; its child processes were stopped, any unfinished upload aborted and its"
    " temporary files removed; the host's state is as it was"
)


def run_module(table: dict[str, Option], work, *, libraries: tuple[str, ...], **rules) -> None:
    """The whole life of an s3napback module: parse options (the ``table``, with ``rules`` such as
    ``mutually_exclusive``), check ``libraries``, run ``work(module)`` (which returns the result
    dict), and turn an engine error into one ``fail_json`` line.

    SIGTERM and SIGINT (an operator's Ctrl-C reaches the module through Ansible's worker), and
    Ansible no longer reading the result (its task ``timeout``), end ``work`` as they end the host
    command: the engine unwinds, then the task fails with a line that says it was interrupted."""
    module = _Module(argument_spec=argument_spec(table), supports_check_mode=True, **rules)
    require_libraries(module, libraries)
    os.umask(0o077)  # the state, snapshots and keyring the engine writes are the owner's only
    failure = None
    try:
        stop_on_signals(signal.SIGTERM, signal.SIGINT)
        stop_when_unheard()
        result = work(module)
    except BackupError as exc:
        failure = exc
    except Terminated as exc:
        _fail_interrupted(module, str(exc))
    gc_tuning.skip_exit_collection()  # exit_json and fail_json end the process
    if failure:
        module.fail_json(msg=str(failure), stage=failure.stage, **getattr(failure, "result", {}))
    for warning in _warnings_of(result):
        module.warn(warning)
    module.exit_json(**result)


def _warnings_of(result: dict) -> list[str]:
    """The engine's warnings, taken out of the result (and its per-set results) for Ansible's own
    warnings, which a playbook run shows; passing them to exit_json is deprecated."""
    found = list(result.pop("warnings", None) or [])
    for each in result.get("results") or []:
        found += [warning for warning in each.pop("warnings", None) or [] if warning not in found]
    return found


def _fail_interrupted(module, cause: str) -> None:
    """Fail the task as interrupted. Whoever ended the module may not read its result any more:
    then the line goes nowhere, without a traceback about the pipe."""
    gc_tuning.skip_exit_collection()
    msg = INTERRUPTED.format(cause=cause)
    try:
        module.fail_json(msg=msg, stage="interrupted")
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        module.fail_json(msg=msg, stage="interrupted")  # to nobody, and nothing left to flush at exit
