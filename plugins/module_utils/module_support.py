# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Option specs and library checks shared by s3napback's modules: the one module_utils file that
imports Ansible; the engine beside it does not."""

from __future__ import annotations

import os
import signal
import sys

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from . import gc_tuning, gpg, s3
from .errors import BackupError, Terminated
from .options import unknown_option
from .termination import stop_on_signals, stop_when_unheard

CONNECTION_ARGUMENT_SPEC = {
    "access_key": {
        "type": "str",
        "no_log": False,
        "aliases": ["aws_access_key_id", "aws_access_key"],
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"]),
    },
    "secret_key": {
        "type": "str",
        "no_log": True,
        "aliases": ["aws_secret_access_key", "aws_secret_key"],
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"]),
    },
    "session_token": {
        "type": "str",
        "no_log": True,
        "aliases": ["aws_session_token"],
        "fallback": (env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"]),
    },
    "profile": {
        "type": "str",
        "aliases": ["aws_profile"],
        "fallback": (env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
    },
    "region": {
        "type": "str",
        "aliases": ["aws_region"],
        "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"]),
    },
    "endpoint_url": {
        "type": "str",
        "aliases": ["aws_endpoint_url", "s3_url"],
        "fallback": (env_fallback, ["AWS_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]),
    },
    "validate_certs": {"type": "bool", "default": True},
    "aws_ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    "checksum_calculation": {"type": "str", "choices": list(s3.CHECKSUM_CALCULATIONS)},
    "addressing_style": {"type": "str", "choices": list(s3.ADDRESSING_STYLES)},
}


LOGIN_ARGUMENT_SPEC = {
    "login_host": {"type": "str"},
    "login_port": {"type": "int"},
    "login_unix_socket": {"type": "str"},
    "login_user": {"type": "str"},
    "login_password": {"type": "str", "no_log": True},
    "config_file": {"type": "path"},
}


# Which set, as of when, and which of its paths: for the modules that read backups (set_request.py).
SET_ARGUMENT_SPEC = {
    "bucket": {"type": "str", "required": True},
    "prefix": {"type": "str"},
    "name": {"type": "str", "required": True},
    "at": {"type": "str"},
    "paths": {"type": "list", "elements": "str", "default": []},
}

# The operator's secret key (and the host's signing key), for the modules that read backups.
SECRET_KEY_ARGUMENT_SPEC = {
    "gpg_home": {"type": "path"},
    "gpg_private_key": {"type": "str", "no_log": True},
    "gpg_passphrase": {"type": "str", "no_log": True},
    "gpg_verify_key": {"type": "str", "no_log": False},
}


def require_libraries(module) -> None:
    """Fail the task with Ansible's standard message when boto3 (botocore) or python-gnupg is missing."""
    if not s3.botocore_available():
        module.fail_json(msg=missing_required_lib("boto3"))
    if gpg.gnupg is None:
        module.fail_json(msg=missing_required_lib("python-gnupg"))


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


def run_module(argument_spec: dict, work, **rules) -> None:
    """The whole life of an s3napback module: parse options (``rules`` such as
    ``mutually_exclusive``), check libraries, run ``work(module)`` (which returns the result
    dict), and turn an engine error into one ``fail_json`` line.

    SIGTERM and SIGINT (an operator's Ctrl-C reaches the module through Ansible's worker), and
    Ansible no longer reading the result (its task ``timeout``), end ``work`` as they end the host
    command: the engine unwinds, then the task fails with a line that says it was interrupted."""
    module = _Module(argument_spec=argument_spec, supports_check_mode=True, **rules)
    require_libraries(module)
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
