# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bucket: one S3 client per run, and every call wrapped once to turn botocore's exceptions
into one-line ``s3:`` errors."""

from __future__ import annotations

import base64
import datetime
import functools
import gc
import hashlib
import importlib.util
import json
import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import naming
from .errors import BackupError
from .stored_check import Kept, Sent, crc32_text, problem

# botocore without boto3: its client is all the engine uses, and skipping boto3's import (with
# s3transfer's) saves a tenth of the fixed start every run pays. botocore itself (and urllib3) is
# imported when the first Bucket is made, not with this file: a run with nothing due, which the
# host's state answers, never loads it (a tenth of a second more).
botocore: Any = None


def botocore_available() -> bool:
    """Whether botocore can be imported, without importing it: the modules report
    missing_required_lib('boto3'), which brings botocore, before they do anything."""
    return importlib.util.find_spec("botocore") is not None


def _load_botocore() -> None:
    global botocore  # bound once, on first use, for every function of this file
    if botocore is None:
        # What botocore's import makes lives to the end: no collection walks it (gc_tuning.py).
        enabled = gc.isenabled()
        gc.disable()
        try:
            import botocore.config  # noqa: PLC0415
            import botocore.exceptions  # noqa: PLC0415
            import botocore.session  # noqa: PLC0415
        finally:
            gc.freeze()
            if enabled:
                gc.enable()


def _has_checksum_settings() -> bool:
    """botocore 1.36 added the checksum settings; Debian 12's 1.29 has none."""
    _load_botocore()
    return "request_checksum_calculation" in botocore.config.Config.OPTION_DEFAULTS


CHECKSUM_CALCULATIONS = ("when_supported", "when_required")
ADDRESSING_STYLES = ("auto", "path", "virtual")


@dataclass(frozen=True)
class Connection:
    """How to reach S3; the option names are amazon.aws's."""

    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    validate_certs: bool = True
    aws_ca_bundle: str | None = None  # a CA bundle for the store's certificate; None: botocore's sources
    checksum_calculation: str | None = None  # when_supported or when_required; None: botocore's setting
    addressing_style: str | None = None  # auto, path or virtual; None: path with endpoint_url, else auto
    # Each request gives up after ``timeout`` seconds without progress and is tried ``attempts``
    # times in all, with botocore's jittered exponential backoff (at most 20 s) between tries:
    # a fault that persists fails the run in at most about attempts * (timeout + 20) seconds.
    timeout: int = 60
    attempts: int = 6

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Connection(endpoint_url={self.endpoint_url!r}, region={self.region!r}, profile={self.profile!r})"

    def problems(self) -> list[str]:
        """What is wrong with the options themselves (the role checks them on the controller, where
        the files they name may not exist)."""
        found = []
        if self.checksum_calculation not in (None, *CHECKSUM_CALCULATIONS):
            found.append(f"checksum_calculation must be one of {', '.join(CHECKSUM_CALCULATIONS)}")
        if self.addressing_style not in (None, *ADDRESSING_STYLES):
            found.append(f"addressing_style must be one of {', '.join(ADDRESSING_STYLES)}")
        return found

    @property
    def verify(self) -> bool | str | None:
        """botocore's ``verify``: None lets it take AWS_CA_BUNDLE or the config file's ca_bundle,
        which an explicit True would skip."""
        if not self.validate_certs:
            return False
        return self.aws_ca_bundle or None

    def client_settings(self) -> dict:
        """botocore Config settings beyond the defaults. botocore before 1.36 (Debian 12's) has no
        checksum settings: there the option only decides whether s3napback sends its own CRC32s."""
        settings: dict = {}
        if self.checksum_calculation and _has_checksum_settings():
            settings["request_checksum_calculation"] = self.checksum_calculation
            settings["response_checksum_validation"] = self.checksum_calculation
        style = self.addressing_style or ("path" if self.endpoint_url else None)
        if style:
            settings["s3"] = {"addressing_style": style}
        return settings


_CODES = {
    "NoSuchBucket": "bucket {bucket!r} does not exist",
    "InvalidAccessKeyId": "the access key was rejected by {endpoint} (InvalidAccessKeyId)",
    "SignatureDoesNotMatch": "the secret key was rejected by {endpoint} (SignatureDoesNotMatch)",
    "ExpiredToken": "the session token has expired",
    "InvalidToken": "the session token was rejected",
    "AccessDenied": "access denied to {what}",
    "403": "access denied to {what}",
    "404": "{what} not found",
    "PreconditionFailed": "{what} failed: it was replaced while it was read",
    "412": "{what} failed: it was replaced while it was read",
}


# What a store answers DeleteObjects with when it will not take the call at all
_BATCH_REFUSED = ("MissingContentMD5", "NotImplemented", "MethodNotAllowed", "InvalidRequest")


def _describe(exc: Exception, bucket: str, endpoint: str, what: str, ca_bundle: str | None = None) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        template = _CODES.get(code)
        if template:
            return template.format(bucket=bucket, endpoint=endpoint, what=what)
        return f"{what} failed: {code or 'error'}: {error.get('Message') or exc}"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no credentials: set access_key and secret_key, a profile, or give the host an instance role"
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        return f"cannot connect to {endpoint}"
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return str(exc)
    if isinstance(exc, botocore.exceptions.SSLError):
        hint = f"checked against aws_ca_bundle {ca_bundle}" if ca_bundle else "a private CA needs aws_ca_bundle"
        return f"TLS error talking to {endpoint}: {_tls_reason(exc)} ({hint})"
    return f"{what} failed: {exc}"


def _tls_reason(exc: Exception) -> str:
    """The certificate's problem without the request URL and the C source line around it."""
    text = str(exc)
    reason = text.rpartition("] ")[2].split(" (_ssl.c")[0].strip() if "] " in text else text
    return reason.rstrip(")")


def _translated(what: str):
    """Run an S3 call and turn any botocore failure into a BackupError naming ``what`` it did."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                described = _describe(exc, self.bucket, self.endpoint, what.format(*args, self=self), self.ca_bundle)
                raise BackupError("s3", described) from exc

        return wrapper

    return decorate


@dataclass(frozen=True)
class ObjectVersion:
    """What pins one version of an object, so that reads in several requests all get the same bytes."""

    size: int
    etag: str
    version_id: str | None


class ConnectedRun:
    """A run (a backup's, a restore's) that connects its bucket at the start of ``run()`` and
    reaches it as ``self._s3`` in every step after that."""

    bucket: Bucket | None = None

    @property
    def _s3(self) -> Bucket:
        if self.bucket is None:
            raise AssertionError("a run connects its bucket before any of its steps uses it")
        return self.bucket


class Bucket:
    """The calls s3napback makes on one bucket."""

    def __init__(self, connection: Connection, bucket: str, max_connections: int = 10):
        problems = connection.problems()
        if connection.aws_ca_bundle and not os.path.isfile(connection.aws_ca_bundle):
            problems.append(f"aws_ca_bundle {connection.aws_ca_bundle}: no such file")
        if problems:
            raise BackupError("config", "; ".join(problems))
        self.bucket = bucket
        self.endpoint = connection.endpoint_url or "AWS S3"
        self.ca_bundle = connection.aws_ca_bundle if connection.validate_certs else None
        self.attempts = connection.attempts
        self.max_connections = max_connections
        self.page_size = 1000  # S3's largest; the tests make it small to reach the second page
        self.listed_classes: dict[str, str] = {}
        self.batch_deletes = True  # until the store refuses DeleteObjects
        _load_botocore()
        config = botocore.config.Config(
            # total_max_attempts counts the first try; max_attempts would count only the retries
            retries={"mode": "standard", "total_max_attempts": connection.attempts},
            connect_timeout=connection.timeout,
            read_timeout=connection.timeout,
            max_pool_connections=max_connections,
            **connection.client_settings(),
        )
        try:
            session = botocore.session.Session(profile=connection.profile)
            self.client = session.create_client(
                "s3",
                region_name=connection.region,
                endpoint_url=connection.endpoint_url,
                verify=connection.verify,
                aws_access_key_id=connection.access_key,
                aws_secret_access_key=connection.secret_key,
                aws_session_token=connection.session_token,
                config=config,
            )
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            raise BackupError("s3", f"cannot set up a client for {self.endpoint}: {exc}") from exc
        # botocore sends an upload's checksum as an aws-chunked trailer over HTTPS, which some
        # S3-compatible stores keep as the object's data. s3napback sends its own CRC32 in a header
        # instead (botocore then adds none), so every store gets a plain body with its checksum.
        resolved = getattr(self.client.meta.config, "request_checksum_calculation", None)
        self.checksums = (connection.checksum_calculation or resolved) == "when_supported"

    @classmethod
    def checked(cls, connection: Connection, bucket: str) -> Bucket:
        """The bucket, reached and checked before any work: a wrong name, endpoint or key fails
        here, in one line, not halfway through a listing."""
        reached = cls(connection, bucket)
        reached.check()
        return reached

    @_translated("bucket {self.bucket!r}")
    def check(self, prefix: str = "") -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchBucket"):
                raise BackupError("s3", f"bucket {self.bucket!r} does not exist at {self.endpoint}") from exc
            if code != "403":
                raise
            # HEAD replies carry no error code; a listing tells a bad key from a missing permission,
            # of the prefix only, which is all a host's least-privilege policy lets it list.
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)

    @_translated("reading the Object Lock configuration of bucket {self.bucket!r}")
    def check_object_lock(self) -> None:
        try:
            reply = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ObjectLockConfigurationNotFoundError":
                raise
            reply = {}
        if reply.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise BackupError(
                "s3", f"bucket {self.bucket!r} has no Object Lock: object_lock_days needs a bucket created with it"
            )

    @_translated("listing {0}")
    def list_objects(self, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under ``prefix``; their storage classes are kept in
        ``listed_classes``, so that a run knows which are archived without asking each."""
        objects = []
        asked = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self.page_size}
        for page in self._pages(self.client.list_objects_v2, asked, {"ContinuationToken": "NextContinuationToken"}):
            for item in page.get("Contents", []):
                objects.append((item["Key"], item["Size"]))
                self.listed_classes[item["Key"]] = item.get("StorageClass") or "STANDARD"
        return objects

    def _pages(self, call, asked: dict, markers: dict[str, str]):
        """Every page of a listing: ``markers`` maps each request field to the reply field that
        continues it. botocore's paginators do this too, but load their model on every run."""
        while True:
            page = call(**asked)
            yield page
            if not page.get("IsTruncated"):
                return
            following = {field: page.get(reply) for field, reply in markers.items()}
            if not any(following.values()) or all(asked.get(f) == v for f, v in following.items()):
                # a listing cut short would make the chain look incomplete, so never stop quietly
                raise BackupError("s3", f"{self.endpoint} sent a truncated listing with no way to go on")
            asked = {**asked, **{field: value for field, value in following.items() if value}}

    @_translated("reading {0}")
    def read_json(self, key: str) -> dict:
        document = json.loads(self.read_all(key))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document

    def read_json_each(self, keys: Sequence[str]) -> dict[str, dict | str]:
        """``read_json`` of every one of ``keys`` at once, so a chain's manifests cost one round trip
        rather than one per backup: each key maps to its document, or to why it could not be read."""

        def read(key: str) -> dict | str:
            try:
                return self.read_json(key)
            except BackupError as exc:
                return exc.cause
            except ValueError as exc:  # not JSON, or not an object
                return str(exc)

        with ThreadPoolExecutor(max_workers=max(1, min(len(keys), self.max_connections))) as pool:
            return dict(zip(keys, pool.map(read, keys)))

    @_translated("reading the storage class of {0}")
    def archive_state(self, key: str) -> tuple[str, str | None]:
        """The object's storage class (STANDARD when S3 names none) and its ``x-amz-restore``
        header: None before any RestoreObject, else whether one is ongoing and until when the
        restored copy lasts."""
        reply = self.client.head_object(Bucket=self.bucket, Key=key)
        return reply.get("StorageClass") or "STANDARD", reply.get("Restore")

    @_translated("asking S3 to restore {0}")
    def request_restore(self, key: str, days: int, tier: str) -> None:
        try:
            self.client.restore_object(
                Bucket=self.bucket, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "RestoreAlreadyInProgress":
                raise

    @_translated("reading {0}")
    def read_all(self, key: str) -> bytes:
        """A small object's bytes in one GET (large ones stream through download.read_object)."""
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    @_translated("looking for {0}")
    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        return True

    @_translated("reading {0}")
    def head(self, key: str) -> ObjectVersion:
        reply = self.client.head_object(Bucket=self.bucket, Key=key)
        return ObjectVersion(reply["ContentLength"], reply["ETag"], reply.get("VersionId"))

    @_translated("reading {0}")
    def read_range(self, key: str, version: ObjectVersion | None, first: int, last: int):
        """The streaming body of bytes ``first`` to ``last`` (inclusive) of ``key``: of that
        ``version`` of it, unless None."""
        pinned = {}
        if version is not None:
            pinned["IfMatch"] = version.etag
            if version.version_id:
                pinned["VersionId"] = version.version_id
        reply = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={first}-{last}", **pinned)
        return reply["Body"]

    @_translated("listing unfinished uploads under {0}")
    def open_uploads(self, prefix: str) -> list[dict]:
        """Unfinished multipart uploads under ``prefix``. Some S3-compatible servers (s3rver, for one)
        cannot list them: there the cleanup of a killed run's upload is left to the bucket's
        lifecycle rule (AbortIncompleteMultipartUpload), as it would be without s3napback."""
        uploads = []
        asked = {"Bucket": self.bucket, "Prefix": prefix, "MaxUploads": self.page_size}
        markers = {"KeyMarker": "NextKeyMarker", "UploadIdMarker": "NextUploadIdMarker"}
        try:
            for page in self._pages(self.client.list_multipart_uploads, asked, markers):
                uploads += [{"key": u["Key"], "upload_id": u["UploadId"]} for u in page.get("Uploads", [])]
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotImplemented":
                raise
        return uploads

    @_translated("writing {0}")
    def write(self, key: str, body, extra: dict, crc32: int | None = None) -> Sent:
        """Store ``body`` as ``key`` with one PutObject; return what was sent, for ``check_kept``
        (``crc32``: the body's, when the caller has it already). Without a CRC32 to send, a
        Content-MD5 goes with it: S3 requires one or the other of an upload into a bucket with
        Object Lock retention."""
        sent = Sent(len(body), zlib.crc32(body) if crc32 is None else crc32)
        integrity = self._checksum(sent.crc32)
        if not integrity:
            integrity = {"ContentMD5": base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()}
        reply = self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **integrity, **extra)
        sent.version_id = reply.get("VersionId")
        return sent

    def _checksum(self, crc32: int) -> dict:
        """A body's CRC32 as an upload sends it: in a header, with the algorithm declared as
        botocore declares it (S3 wants one or the other with Object Lock), or nothing."""
        return {"ChecksumAlgorithm": "CRC32", "ChecksumCRC32": crc32_text(crc32)} if self.checksums else {}

    def write_json(self, key: str, document: dict, extra: dict) -> Sent:
        body = json.dumps(document, indent=2, sort_keys=True).encode()
        return self.write(key, body, {"ContentType": "application/json", **extra})

    @_translated("reading back {0}")
    def kept(self, key: str) -> Kept:
        """What the store keeps as ``key``: one HEAD, its size and (where it gives one) its CRC32."""
        mode = {"ChecksumMode": "ENABLED"} if self.checksums else {}
        reply = self.client.head_object(Bucket=self.bucket, Key=key, **mode)
        return Kept(reply["ContentLength"], reply.get("ChecksumCRC32"))

    def check_kept(self, key: str, sent: Sent) -> None:
        """Fail unless the store keeps ``key`` as it was ``sent``; a key that does not is removed."""
        wrong = problem(sent, self.kept(key))
        if wrong is None:
            return
        try:
            self._delete_one(key, sent.version_id)
            removed = "removed it"
        except BackupError as exc:
            removed = f"could not remove it ({exc.cause})"
        raise BackupError(
            "s3",
            f"{wrong} for {key}: the data changed on its way to the disk, so s3napback {removed} and recorded"
            " nothing; test the store with the probe (s3napback list --probe)",
        )

    @_translated("deleting {0}")
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    @_translated("deleting version {1} of {0}")
    def delete_version(self, key: str, version_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)

    def delete_in_order(self, keys: Sequence[str], versions: dict[str, str | None] | None = None) -> None:
        """Delete ``keys`` in their order, each by the version ``versions`` names, if any. A run of a
        backup's later volumes goes in DeleteObjects requests of up to 1,000 keys: a large backup is
        thousands of volumes, which one DELETE each would take minutes to remove. A store that
        refuses DeleteObjects gets one DELETE each, from then on."""
        versions = versions or {}
        batch: list[str] = []
        for key in [*keys, None]:
            if key is not None and naming.parse_volume_key(key) is not None:
                batch.append(key)
                continue
            for start in range(0, len(batch), 1000):
                chunk = batch[start : start + 1000]
                if not (self.batch_deletes and self._delete_batch(chunk, versions)):
                    self.batch_deletes = False
                    for each in chunk:
                        self._delete_one(each, versions.get(each))
            batch = []
            if key is not None:
                self._delete_one(key, versions.get(key))

    def _delete_one(self, key: str, version: str | None) -> None:
        if version:
            self.delete_version(key, version)
        else:
            self.delete(key)

    @_translated("deleting {0[0]} and the volumes after it")
    def _delete_batch(self, keys: list[str], versions: dict[str, str | None]) -> bool:
        """Delete ``keys`` with one DeleteObjects; False when the store refuses the call itself
        (some want a Content-MD5 that botocore 1.36 and later no longer send)."""
        objects = [{"Key": key, **({"VersionId": versions[key]} if versions.get(key) else {})} for key in keys]
        try:
            reply = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _BATCH_REFUSED:
                return False
            raise
        errors = reply.get("Errors", [])
        if errors:
            first = errors[0]
            raise BackupError(
                "s3",
                f"deleting {first.get('Key')} failed: {first.get('Code')}: {first.get('Message')}"
                f" ({len(errors)} of {len(keys)} objects not deleted)",
            )
        return True

    @_translated("reading the lock of {0}")
    def lock_of(self, key: str) -> tuple[str | None, datetime.datetime | None]:
        """The object's version and the date its object lock holds it until (None: not locked)."""
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        return head.get("VersionId"), head.get("ObjectLockRetainUntilDate")

    @_translated("locking {0}")
    def lock(self, key: str, mode: str, until: datetime.datetime) -> None:
        self.client.put_object_retention(
            Bucket=self.bucket, Key=key, Retention={"Mode": mode, "RetainUntilDate": until}
        )

    @property
    def _declared_checksum(self) -> dict:
        """What a multipart upload declares, as s3transfer does: CRC32, so that S3 checks each part
        against its CRC32 and keeps a checksum of the object made of theirs. Parts that carry a
        CRC32 on an upload that declared none took moto's server 70% more CPU per upload."""
        return {"ChecksumAlgorithm": "CRC32"} if self.checksums else {}

    @_translated("starting the upload of {0}")
    def start_multipart(self, key: str, extra: dict) -> str:
        reply = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra, **self._declared_checksum)
        return reply["UploadId"]

    @_translated("uploading part {2} of {0}")
    def upload_part(self, key: str, upload_id: str, number: int, data, crc32: int) -> dict:
        """The part as its completion lists it: number, ETag and, with checksums, its CRC32.
        ``crc32`` is the part's, computed by the caller, which hashes it anyway."""
        checksum = self._checksum(crc32)
        reply = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **checksum
        )
        echoed = reply.get("ChecksumCRC32")
        if checksum and echoed and echoed != checksum["ChecksumCRC32"]:
            raise BackupError("s3", f"part {number} of {key}: the store's CRC32 {echoed} is not the one sent")
        part = {"PartNumber": number, "ETag": reply["ETag"]}
        return {**part, "ChecksumCRC32": checksum["ChecksumCRC32"]} if checksum else part

    @_translated("completing the upload of {0}")
    def complete_multipart(self, key: str, upload_id: str, parts: list[dict]) -> str | None:
        """Complete the upload; the version the store made of the object (a versioned bucket)."""
        reply = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        return reply.get("VersionId")

    @_translated("aborting the upload of {0}")
    def abort_multipart(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
