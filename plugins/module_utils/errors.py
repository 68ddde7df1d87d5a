# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type the engine raises: a stage and a cause an operator can act on."""

from __future__ import annotations


class BackupError(Exception):
    """A failure with the stage that failed (``s3``, ``gpg``, ``tar`` ...) and a one-line cause.

    ``details`` keeps what the operator may want next (a stage's full stderr), never a secret.
    """

    def __init__(self, stage: str, cause: str, details: str = ""):
        self.stage = stage
        self.cause = cause
        self.details = details
        super().__init__(f"{stage}: {cause}")


class JobFailed(BackupError):
    """Some of a job's sets failed (others may have succeeded): ``result`` says which did what."""

    def __init__(self, stage: str, cause: str, result: dict):
        super().__init__(stage, cause)
        self.result = result


class Terminated(BaseException):
    """SIGTERM arrived (systemd stopping the unit, a cron job killed): unwind like Ctrl-C, so every
    ``with`` on the way kills the pipeline, aborts the upload and leaves the state as it was."""
