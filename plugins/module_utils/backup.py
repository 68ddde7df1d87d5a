# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One backup run of one set: check, plan, stream, record, rotate.

Order matters and is the point of this file: the data object is completed only after every
pipeline stage exited well, the manifest is written only after the data object is complete, the
local state advances only after the manifest is stored, and rotation runs only after all of that.
A diff may begin its stream before the plan is made (``_may_start_early``), but nothing of it is
sent before the plan agrees.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import time
from dataclasses import dataclass, field
from typing import Callable

from . import file_index, gpg, naming
from .compression import compressor
from .debris import Debris, DebrisCleaner
from .errors import BackupError, JobFailed
from .files import private_directory
from .index_stream import IndexStream
from .lock import SetLock
from .manifest import build_manifest
from .pipeline import Pipeline
from .plan import Plan, PlanInputs, plan_backup
from .protection import early_deletions
from .request import BackupRequest, backup_requests, expands
from .s3 import Bucket, ConnectedRun
from .set_listing import Backup, Chain, SetListing, build_listing, chain_problem, fetched
from .signature import Signer
from .state import SetState
from .upload import MIN_PART_SIZE, StreamUpload, VolumeUpload, fill

INDEX_PART = MIN_PART_SIZE  # most indexes fit in one; a tree of a million files needs three


@dataclass
class Outcome:
    changed: bool
    reason: str
    backup_set: dict
    backup: dict | None = None
    rotated: list[str] = field(default_factory=list)
    debris: Debris = field(default_factory=Debris)  # what killed runs had left, cleared first
    kept_locked: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Every field, with the debris's lists in place of the debris."""
        shown = dict(vars(self))
        debris = shown.pop("debris")
        return {**shown, **vars(debris)}


class _TimedReader:
    """The pipe's read end, counting the seconds the uploader spent waiting on it: the rest of the
    upload's time went to hashing and waiting for a part buffer that S3 had not yet taken."""

    def __init__(self, stream):
        self.stream, self.waited = stream, 0.0

    def readinto(self, target) -> int:
        started = time.monotonic()
        try:
            return self.stream.readinto(target)
        finally:
            self.waited += time.monotonic() - started


def _read_head(stream, size: int) -> bytearray:
    """Up to ``size`` bytes of ``stream``, fewer only at its end."""
    head = bytearray(size)
    del head[fill(stream, head, size) :]
    return head


class _NotAsForeseen(Exception):
    """The plan S3's listing gave is not the diff whose stream started before it was asked."""


class _Known:
    """A decision made before the stream starts: what ``_store`` asks of a run's decision."""

    def __init__(self, decision: _Decision):
        self.decision = decision

    def begin(self) -> None:
        """The stream has started."""

    def result(self) -> _Decision:
        """The decision, asked once the stream's first part is read."""
        return self.decision


class _Foreseen:
    """An early run's decision, as ``_Known``'s: asked of S3 in ``pool`` from the moment its stream
    has started, not before, so that nothing of S3's side (the recipients' check, botocore's
    import) comes before tar's start or competes with the main thread while it starts the
    pipeline's processes."""

    def __init__(self, pool: concurrent.futures.Executor, decide: Callable[[], _Decision]):
        self.pool, self.decide = pool, decide
        self.deciding: concurrent.futures.Future | None = None

    def begin(self) -> None:
        self.deciding = self.pool.submit(self.decide)

    def made(self) -> _Decision:
        """The decision S3's answers gave, whatever it is."""
        if self.deciding is None:
            raise AssertionError("asked for the decision of a stream that never began")
        return self.deciding.result()

    def result(self) -> _Decision:
        decision = self.made()
        if decision.plan.kind != "diff" or not decision.key:
            raise _NotAsForeseen
        return decision


@dataclass
class _Decision:
    """What a run decides once it has asked S3: the plan, and the key of the backup it stores, or
    why it stores none (``stop``)."""

    plan: Plan
    listing: SetListing
    debris: Debris
    stop: str = ""
    key: str = ""
    moment: datetime.datetime | None = None


def _timings(results: list, upload_s: float, pipe_wait_s: float) -> dict:
    return {
        "stages": [result.timing() for result in results],
        "upload": {
            "seconds": round(upload_s, 3),
            "pipe_wait_s": round(pipe_wait_s, 3),
            "upload_wait_s": round(max(upload_s - pipe_wait_s, 0.0), 3),
        },
    }


def _new_stamp(now: datetime.datetime, listing: SetListing) -> datetime.datetime:
    """``now`` to the second, moved past the newest key so that keys keep sorting in creation order."""
    moment = now.astimezone(datetime.timezone.utc).replace(microsecond=0)
    newest = listing.newest
    if newest is not None and newest.stamp >= moment:
        moment = newest.stamp + datetime.timedelta(seconds=1)
    return moment


class BackupRun(ConnectedRun):
    def __init__(
        self,
        request: BackupRequest,
        now: datetime.datetime | None = None,
        check_mode: bool = False,
        progress: Callable[[str, int], None] | None = None,
    ):
        self.request = request
        self.progress = progress
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.check_mode = check_mode
        self.name = request.set_name
        self.prefix = request.key_prefix
        self.set_prefix = naming.set_prefix(self.prefix, self.name)
        self.state = SetState(
            request.state_dir, naming.set_id(request.connection.endpoint_url, request.bucket, self.prefix, self.name)
        )
        self.kept_locked: list[dict] = []  # expired backups an object lock still holds
        # what this run stored, by key, with the version the store made (volumes in order, the index)
        self._stored: dict[str, str | None] = {}
        self._key = ""  # of the backup this run stores, once decided
        self._manifest_begun = False
        self.signer = Signer(request.keyring_home, request.gpg_sign_key) if request.gpg_sign_key else None

    def run(self) -> Outcome:
        request = self.request
        problems = request.problems()
        if problems:
            raise BackupError("config", "; ".join(problems))
        request.source.check()
        recorded = self._recorded_this_period()
        if recorded:
            return Outcome(False, recorded, {"bucket": request.bucket, "prefix": self.prefix, "name": self.name})
        early = self._may_start_early()
        if not early:
            self._connect()
            self._check_recipients()
        if self.signer:
            self.signer.check()
        # Everything is checked: only now may this run change anything on the host. (An early run
        # checks its recipients beside its stream, whose scratch snapshot a failure removes.)
        keyring_changed = False
        if not self.check_mode:
            private_directory(request.state_dir, "state")
            if request.encrypt and request.gpg_public_key:
                keyring_changed = gpg.Keyring(request.keyring_home).import_public_key(request.gpg_public_key)
        lock = contextlib.nullcontext() if self.check_mode else SetLock(self.state.lock_path, self.name)
        try:
            with lock:
                outcome = self._locked_run(early)
        finally:
            if self.signer:
                self.signer.close()
        outcome.changed = outcome.changed or keyring_changed
        outcome.warnings = early_deletions(
            request.protection, lambda kind: request.retention.shortest_life_days(request.schedule, kind)
        )
        return outcome

    def _recorded_this_period(self) -> str | None:
        """Why nothing is due, from this host's own record: the last backup it stored of this set
        falls in this period, and the store already has it, so S3 would only say so again. None
        when the run must go on and ask S3: forced, a public key to import, recipients other than
        those the record's backup was encrypted to (a mistyped one must fail now, not tomorrow), or
        no such record.

        A nothing-due run (a playbook run again the same day) then costs neither botocore's import,
        the S3 client, the bucket's listing nor the gpg key check. Deleting the period's backup from
        the store by hand does not make the next run of the same period back up again: force does."""
        request = self.request
        if request.force or request.force_full or (request.encrypt and request.gpg_public_key):
            return None
        record = self.state.record()
        last = record.get("last_key")
        if record.get("recipients") != sorted(request.gpg_recipient):
            return None
        if not isinstance(last, str) or not last.startswith(self.set_prefix):
            return None
        parts = naming.parse_data_key(last[len(self.set_prefix) :])
        period = request.schedule.period(self.now)
        if parts is None or request.schedule.period(naming.parse_stamp(parts.stamp)) != period:
            return None
        start = request.schedule.period_start(period)
        return f"this period (from {start}) already has backup {last} (this host's record; S3 was not asked)"

    def _may_start_early(self) -> bool:
        """Whether this run's stream may start before S3 is asked, with the bucket's checks, its
        listing and the plan beside it in a thread: on this host's word alone that the run will be
        a diff (its snapshot follows a backup), so that a diff pays neither botocore's start nor
        S3's round trips on top of tar's walk of the tree. Nothing is sent before the plan agrees;
        when it does not (a full is due, the chain is broken, nothing is due), the stream is
        dropped and the run goes on as the plan says. Never in check mode, and never with a public
        key to import first (the import is for checked runs only)."""
        request, source = self.request, self.request.source
        return (
            not self.check_mode
            and source.incremental
            and source.uses_snapshot
            and not request.force_full
            and request.schedule.diffs > 0
            and not (request.encrypt and request.gpg_public_key)
            and self.state.follows(True) is not None
        )

    def _connect(self) -> None:
        request = self.request
        self.bucket = Bucket(request.connection, request.bucket, max_connections=request.upload_concurrency + 2)
        self.bucket.check(self.set_prefix)
        if request.protection.object_lock_days:
            self.bucket.check_object_lock()

    def _check_recipients(self) -> None:
        request = self.request
        if request.encrypt:
            gpg.check_recipients(request.keyring_home, request.gpg_recipient, request.gpg_public_key)

    def _connect_and_decide(self) -> _Decision:
        """An early run's checks and plan, beside its stream: the recipients first, so that a
        mistyped one fails before S3 is asked, as it does on a run that does not start early."""
        self._check_recipients()
        self._connect()
        return self._decide()

    def _locked_run(self, early: bool) -> Outcome:
        if not early:
            return self._carry_out(self._decide())
        # The executor's end waits for the decision, so that no S3 call of this run outlives its lock.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="s3-plan") as pool:
            foreseen = _Foreseen(pool, self._connect_and_decide)
            try:
                stored = self._store("diff", foreseen)
            except _NotAsForeseen:
                return self._carry_out(foreseen.made())
        return self._carry_out(foreseen.made(), stored)

    def _decide(self) -> _Decision:
        """List the set, clear what killed runs left, and plan."""
        request = self.request
        listing = build_listing(self._s3.list_objects(self.set_prefix), self.set_prefix)
        # With the set's lock held, no other run is behind what a killed one left: clear it first,
        # whether or not a backup is due (check mode: only say what would go).
        debris = DebrisCleaner(
            self._s3, self.set_prefix, self.state, bool(request.protection.object_lock_days), self.now
        ).clear(listing, dry_run=self.check_mode)
        listing = listing.without(debris.removed_strays)
        chain = listing.chain_of_newest()
        plan = plan_backup(
            PlanInputs(
                schedule=request.schedule,
                listing=listing,
                now=self.now,
                incremental=request.source.incremental,
                state_key=self.state.follows(request.source.uses_snapshot),
                chain_problem=lambda: self._chain_problem(chain) if chain else None,
                force=request.force,
                force_full=request.force_full,
            )
        )
        decision = _Decision(plan, listing, debris)
        if plan.kind is None:
            decision.stop = plan.reason
            return decision
        unchanged = None if request.force_full else self._unchanged(listing)
        if unchanged:
            decision.stop = unchanged
            return decision
        decision.moment = _new_stamp(self.now, listing)
        decision.key = naming.data_key(
            self.prefix, self.name, naming.stamp(decision.moment), plan.kind, self._extension()
        )
        return decision

    def _carry_out(self, decision: _Decision, stored: dict | None = None) -> Outcome:
        """Store the backup ``decision`` names (unless ``stored`` already) and rotate."""
        request, plan, debris = self.request, decision.plan, decision.debris
        cleared = bool(debris.aborted_uploads or debris.removed_strays)
        set_info = {"bucket": request.bucket, "prefix": self.prefix, "name": self.name}
        if plan.kind is None or not decision.key or decision.moment is None:
            return Outcome(cleared, decision.stop, set_info, debris=debris)
        key = decision.key
        future = decision.listing.with_backup(Backup(key, plan.kind, decision.moment, 0))
        if self.check_mode:
            backup = {"key": key, "kind": plan.kind, "parent": plan.parent.key if plan.parent else None}
            rotated = self._rotate(future, key, dry_run=True)
            return Outcome(True, plan.reason, set_info, backup, rotated, debris, self.kept_locked)
        backup = stored if stored is not None else self._store(plan.kind, _Known(decision))
        rotated = self._rotate(future, key)
        return Outcome(True, plan.reason, set_info, backup, rotated, debris, self.kept_locked)

    def _unchanged(self, listing: SetListing) -> str | None:
        """Why there is nothing new to store although the schedule is due (a repository without a
        new revision), or None."""
        newest = listing.newest
        if newest is None or self.state.follows(self.request.source.uses_snapshot) != newest.key:
            return None
        return self.request.source.unchanged(self.state)

    def _chain_problem(self, chain: Chain) -> str | None:
        manifests = self._s3.read_json_each([backup.manifest_key for backup in chain.backups])
        return chain_problem(chain, fetched(manifests))

    def _extension(self) -> str:
        request = self.request
        extension = request.source.extension + compressor(request.compression).extension
        return extension + (".gpg" if request.encrypt else "")

    def _stages(self, head) -> list:
        request = self.request
        stages = [head]
        compress = compressor(request.compression).stage(request.compression_level)
        if compress is not None:
            stages.append(compress)
        if request.encrypt:
            stages.append(gpg.Keyring(request.keyring_home).encrypt_stage(request.gpg_recipient))
        return stages

    def _index_stages(self) -> list:
        """The file index's compressor and gpg: the data's, with the compressor on one thread."""
        request = self.request
        stages = []
        compress = compressor(request.compression).stage(request.compression_level, parallel=False)
        if compress is not None:
            stages.append(compress)
        if request.encrypt:
            stages.append(gpg.Keyring(request.keyring_home).encrypt_stage(request.gpg_recipient))
        return stages

    def _store(self, kind: str, decided: _Known | _Foreseen) -> dict:
        """Stream a ``kind`` backup into the key ``decided`` names, which it asks once the
        stream's first part is read; then its index, its lock and its manifest."""
        request = self.request
        started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
        prepared = None
        index = IndexStream(self._index_stages(), request.state_dir) if request.source.indexed else None
        try:
            with index or contextlib.nullcontext():
                prepared = request.source.prepare(kind, self.state, index)
                decision, uploaded, results, timings, index_entry = self._stream(prepared, kind, decided, index)
                key, plan = decision.key, decision.plan
                # S3 refuses a lock date in the past: count from the later of the run's time and the clock's.
                until = request.protection.retain_until(max(self.now, started))
                if until is not None:
                    self._lock(until)
            source_result = results[0]
            duration = round(time.monotonic() - clock, 3)
            warnings = request.source.warnings(source_result) if source_result.returncode else []
            manifest = build_manifest(
                key=key,
                kind=kind,
                parent=plan.parent.key if plan.parent else None,
                chain=plan.chain.key if plan.chain else key,
                source=request.source.describe(),
                compression=request.compression,
                recipients=list(request.gpg_recipient),
                bytes_in=request.source.bytes_in(source_result),
                uploaded=uploaded,
                started=naming.iso(started),
                finished=naming.iso(datetime.datetime.now(datetime.timezone.utc)),
                duration_s=duration,
                period=plan.period,
                warnings=warnings,
            )
            manifest.update(prepared.manifest)
            if index_entry:
                manifest["index"] = index_entry
            if request.protection.storage_class_of(kind):
                manifest["storage_class"] = request.protection.storage_class_of(kind)
            if until is not None:
                manifest["locked_until"] = naming.iso(until)
            if self.signer:
                manifest = self.signer.sign(manifest)
            self._write_manifest(key, manifest, request.protection.manifest_arguments(until))
        except BaseException:  # a failure, or SIGTERM, anywhere before the manifest was kept
            self.state.discard()
            self._delete_stored()
            raise
        finally:
            if prepared is not None:
                prepared.cleanup()
            if index is not None:
                index.close()
        try:
            record = {**prepared.record, "recipients": sorted(request.gpg_recipient)}
            self.state.commit(key, manifest["chain"], record, request.source.uses_snapshot)
        except BackupError as exc:
            raise BackupError(exc.stage, f"{exc.cause} (backup {key} is stored; the next run will be a full)") from exc
        return {
            "key": key,
            "manifest_key": naming.manifest_key(key),
            "index_key": index_entry["key"] if index_entry else None,
            "kind": kind,
            "parent": manifest["parent"],
            "bytes_in": manifest["bytes_in"],
            "bytes_out": uploaded.size,
            "sha256": uploaded.sha256,
            "duration_s": duration,
            "tar_warnings": warnings,
            "timings": timings,
        }

    def _stream(self, prepared, kind: str, decided: _Known | _Foreseen, index: IndexStream | None) -> tuple:
        """The source's stream through compressor and gpg into the backup's volumes, completed
        only once every stage exited well, and its file index stored beside them. The first part
        is read before ``decided`` is asked for the key (a stream started early reads it while
        S3 is asked). Returns the decision, what was uploaded, the stages' results, the timings
        and what the manifest records of the index."""
        request = self.request
        progress = self.progress
        report = (lambda size: progress("uploading", size)) if progress else None
        with Pipeline(self._stages(prepared.stage)) as pipe:
            decided.begin()
            streaming = time.monotonic()
            reader = _TimedReader(pipe.stdout)
            head = _read_head(reader, request.part_size)
            decision = decided.result()
            self._key = decision.key
            with VolumeUpload(
                self._s3,
                decision.key,
                request.protection.data_arguments(kind),
                first_part=request.part_size,
                concurrency=request.upload_concurrency,
                progress=report,
                bandwidth_limit=request.bandwidth_limit,
            ) as upload:
                uploaded = upload.feed(reader, head)
                try:
                    results = pipe.finish()
                except BackupError as exc:
                    index_failure = index.failure() if index is not None and exc.stage == "tar" else None
                    raise (index_failure or exc) from exc
                index_entry = self._complete(upload, decision.key, index)
        timings = _timings(results, time.monotonic() - streaming, reader.waited)
        return decision, uploaded, results, timings, index_entry

    def _complete(self, upload: VolumeUpload, key: str, index: IndexStream | None) -> dict | None:
        """Store the data's last volume (all of a diff within one part) while the file index is
        ended and stored in a thread: each is checked with its own HEAD, and only the manifest,
        written after both, makes them a backup, so neither waits for the other. A run killed
        between them leaves a stray or a lonely index, which the next run clears. What the
        manifest records of the index, or None without one."""
        # The executor's end waits for the index, whatever happens here: what it stored is in
        # self._stored before a failure deletes what this run stored.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="s3-index") as pool:
            indexed = pool.submit(self._store_index, key, index) if index is not None else None
            upload.complete()
            self._stored.update(upload.versions)
            return indexed.result() if indexed is not None else None

    def _store_index(self, key: str, index: IndexStream) -> dict:
        """End the file index (checking its stages) and upload it beside the data (locked with
        it, by _lock): what the manifest records of it."""
        index.finish(self.state.pending_snapshot)
        index_key = naming.index_key(key)
        arguments = self.request.protection.encryption_arguments()
        with StreamUpload(self._s3, index_key, arguments, first_part=INDEX_PART, concurrency=2) as upload:
            uploaded = upload.feed(index.body)
            upload.complete()
        self._stored[index_key] = upload.version_id
        return {"key": index_key, "format": file_index.VERSION, "bytes": uploaded.size, "sha256": uploaded.sha256}

    def _lock(self, until: datetime.datetime) -> None:
        """Lock every volume and the file index, once all are stored (protection.py says why)."""
        for stored in self._stored:
            self._s3.lock(stored, self.request.protection.object_lock_mode, until)

    def _delete_stored(self) -> None:
        """Delete what this run stored of a backup that is not one (data without its index, its
        lock or its manifest), each by the version stored: the manifest if its upload began, the
        index, then the volumes, the first one last, in Backup.keys' order, so that what a failure
        halfway leaves is a stray or a lonely index, which the next run clears."""
        key = self._key
        if not key:
            return  # failed before its key was decided: nothing stored
        index = naming.index_key(key)
        later = [each for each in self._stored if each not in (key, index)]
        ordered = [naming.manifest_key(key)] if self._manifest_begun else []
        ordered += [each for each in naming.deletion_order(key, later, index) if each in self._stored]
        with contextlib.suppress(BackupError):
            self._s3.delete_in_order(ordered, self._stored)

    def _write_manifest(self, key: str, manifest: dict, extra: dict) -> None:
        manifest_key = naming.manifest_key(key)
        self._manifest_begun = True
        self._s3.check_kept(manifest_key, self._s3.write_json(manifest_key, manifest, extra))

    def _rotate(self, listing: SetListing, key: str, dry_run: bool = False) -> list[str]:
        """Delete what the retention lets go (or, ``dry_run``, only say what that is)."""
        deleted = []
        for group in self.request.retention.expired_groups(listing, self.request.schedule):
            try:
                versions = self._unlocked_versions(group)
                if versions is None:
                    continue  # an object lock holds part of it: the whole chain stays
                if not dry_run:
                    self._s3.delete_in_order(group, versions)
                deleted += group
            except BackupError as exc:
                stored = "nothing was stored" if dry_run else f"backup {key} is stored"
                raise BackupError("rotation", f"{exc.cause} ({stored})") from exc
        return deleted

    def _unlocked_versions(self, group: list[str]) -> dict | None:
        """With object lock in use, each key's version to delete (a plain delete would only hide a
        version behind a delete marker, its storage still paid); None while any is locked."""
        if not self.request.protection.object_lock_days:
            return {}
        versions = {}
        for expired in group:
            version, until = self._s3.lock_of(expired)
            if until is not None and until > self.now:
                self.kept_locked.append({"key": expired, "locked_until": naming.iso(until)})
                return None
            versions[expired] = version
        return versions


def run_backup(
    request: BackupRequest,
    now: datetime.datetime | None = None,
    check_mode: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> Outcome:
    """One run of one set. ``progress(stage, bytes)`` hears about long work as it goes."""
    return BackupRun(request, now, check_mode, progress).run()


def run_job(
    options: dict,
    now: datetime.datetime | None = None,
    check_mode: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """One task's backups by the module's option names: one set, or several (the repositories of
    ``svn_parent``, a list of databases, ``all`` of them), where one that fails does not stop the
    others."""
    requests, notes = backup_requests(options)
    if not expands(options):
        return run_backup(requests[0], now, check_mode, progress).as_dict()
    results, failed = [], []
    for request in requests:
        try:
            results.append(run_backup(request, now, check_mode, progress).as_dict())
        except BackupError as exc:
            failed.append(f"{request.set_name}: {exc}")
            results.append(
                {
                    "changed": False,
                    "failed": True,
                    "msg": str(exc),
                    "stage": exc.stage,
                    "backup_set": {"bucket": request.bucket, "prefix": request.key_prefix, "name": request.set_name},
                }
            )
    summary = {"changed": any(result["changed"] for result in results), "results": results, "notes": notes}
    if failed:
        raise JobFailed("backup", f"{len(failed)} of {len(requests)} sets failed; first: {failed[0]}", summary)
    return summary
