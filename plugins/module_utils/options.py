# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's options, each written once: its type, default, choices, aliases, environment
fallbacks, whether it is a secret and the release it appeared in.

The modules' argument specs (module_support.argument_spec), the host command's config file (through
typed_options) and the requests (request.py, set_request.py) are made from these tables, and
tests/unit/plugins/modules/test_option_docs.py checks each module's DOCUMENTATION and README's
options table against them. This file holds the tables every module shares (how to reach S3 and a
database server); it imports nothing heavier than s3.py, so that a module that only lists the
bucket loads only what it uses.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from .s3 import ADDRESSING_STYLES, CHECKSUM_CALCULATIONS, Connection


@dataclasses.dataclass(frozen=True)
class Option:
    """One option, by Ansible's argument spec words (a list is a list of strings)."""

    type: str  # str, path, bool, int or list
    default: Any = None
    choices: tuple[str, ...] | None = None
    required: bool = False
    no_log: bool | None = None  # True: a secret; False: a name Ansible would mistake for one
    aliases: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # the environment variables read, in order, when the option is not set
    version_added: str = "0.1.0"


CONNECTION = {
    "access_key": Option(
        "str",
        no_log=False,
        aliases=("aws_access_key_id", "aws_access_key"),
        env=("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"),
    ),
    "secret_key": Option(
        "str",
        no_log=True,
        aliases=("aws_secret_access_key", "aws_secret_key"),
        env=("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"),
    ),
    "session_token": Option(
        "str",
        no_log=True,
        aliases=("aws_session_token",),
        env=("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"),
    ),
    "profile": Option("str", aliases=("aws_profile",), env=("AWS_PROFILE", "AWS_DEFAULT_PROFILE")),
    "region": Option("str", aliases=("aws_region",), env=("AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION")),
    "endpoint_url": Option(
        "str",
        aliases=("aws_endpoint_url", "s3_url"),
        env=("AWS_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    ),
    "validate_certs": Option("bool", True),
    "aws_ca_bundle": Option("path", env=("AWS_CA_BUNDLE",)),
    "checksum_calculation": Option("str", choices=CHECKSUM_CALCULATIONS),
    "addressing_style": Option("str", choices=ADDRESSING_STYLES),
}

# What the modules that look at a bucket's sets take (s3napback_info, s3napback_report, s3napback_probe).
BUCKET_LISTING = {"bucket": Option("str", required=True), "prefix": Option("str"), **CONNECTION}


@dataclasses.dataclass(frozen=True)
class BucketRequest:
    """The request BUCKET_LISTING's options make: which bucket, under which prefix, reached how."""

    bucket: str
    prefix: str
    connection: Connection


def bucket_request(options: dict) -> BucketRequest:
    return BucketRequest(options["bucket"], options.get("prefix") or "", connection_from(options))


LOGIN = {
    "login_host": Option("str"),
    "login_port": Option("int"),
    "login_unix_socket": Option("str"),
    "login_user": Option("str"),
    "login_password": Option("str", no_log=True),
    "config_file": Option("path"),
}


def secrets(table: dict[str, Option]) -> tuple[str, ...]:
    """The options of ``table`` that hold a secret."""
    return tuple(name for name, option in table.items() if option.no_log)


def _typed(name: str, kind: str, value):
    """``value`` as option ``name`` of type ``kind``, or a ValueError saying what is wrong."""
    if value is None:
        return None
    if kind in ("str", "path"):
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"{name} must be a string, not {type(value).__name__}")
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        return value
    if isinstance(value, str):  # a single string where a list is expected, as Ansible allows
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings")
    return value


def unknown_option(name: str, known) -> str:
    """The line that names a mistyped option, with the closest of ``known`` when one is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"unknown option {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def typed_options(options: dict, known: dict[str, Option]) -> dict:
    """Every option of ``known`` with its type checked and its default filled in; raises ValueError
    naming the first unknown or mistyped option. The engine's requests check the values."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(unknown_option(unknown[0], known))
    return {name: _typed(name, option.type, options.get(name, option.default)) for name, option in known.items()}


def fields_of(cls, values: dict) -> dict:
    """The entries of ``values`` named as a field of the dataclass ``cls``: the part of the options
    that one piece of a request takes."""
    names = {field.name for field in dataclasses.fields(cls)}
    return {name: value for name, value in values.items() if name in names}


def connection_from(options: dict) -> Connection:
    return Connection(**{name: options.get(name, option.default) for name, option in CONNECTION.items()})
