# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore and verify: a set as of a point in time, streamed from the bucket through gpg, the
decompressor and tar, every object's SHA-256 checked against its manifest.

A restore writes into a private work directory beside ``dest`` (restore_work.py) and puts the
result in place, in one step where the file system can (exchange.py), only when every object of
the chain applied cleanly: a failure, or a kill, leaves ``dest`` exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass
from typing import Callable

from . import naming
from .browse import encoded
from .compression import decompressor_stage
from .databases import database_loader
from .download import read_object, read_volumes
from .errors import BackupError
from .gpg import DecryptionKeys
from .index_reader import NoIndex, read_chain
from .pipeline import Pipeline, Stage
from .point_in_time import chain_at
from .request import TARGETS, RestoreRequest
from .restore_paths import SELECTED, Selection, move_into, names_file, remove_extras, select
from .restore_work import WorkDirectory
from .retrieval import report, survey, tier_problem, wait_until_ready
from .retrieval import request as request_retrieval
from .s3 import Bucket, ConnectedRun
from .set_listing import Backup


@dataclass(frozen=True)
class Format:
    """What a set's objects hold, told by their extension, and how to restore and verify it."""

    target: str  # the request field naming where it is restored
    load: Callable[[str], list[str]] | None  # argv that applies one object into the work path
    verify: list[str]  # argv that reads a whole object and writes nothing
    create: Callable[[str], list[str]] | None = None  # argv that makes an empty work path usable
    plain_sql: bool = False  # a database dump that psql runs, not pg_restore


# No tool checks a dump stream without loading it; gpg's and the decompressor's integrity checks and
# the SHA-256 against the manifest stand for it.
_READ_ALL = ["cat"]


FORMATS = {
    ".tar": Format(
        "dest",
        lambda work: ["tar", "--extract", "--listed-incremental=/dev/null", "--file=-", f"--directory={work}"],
        ["tar", "--list", "--listed-incremental=/dev/null", "--file=-"],
    ),
    ".svndump": Format(
        "svn_repository",
        lambda work: ["svnadmin", "load", "--quiet", "--", work],
        _READ_ALL,
        lambda work: ["svnadmin", "create", "--", work],
    ),
    # Databases load into a server (databases.py), not into a work path.
    ".mysql": Format("mysql_database", None, _READ_ALL),
    ".pgdump": Format("postgresql_database", None, _READ_ALL),
    ".pgsql": Format("postgresql_database", None, _READ_ALL, plain_sql=True),
}


def _format_of(backup: Backup) -> tuple[Format, str]:
    """The format of ``backup``'s payload and the rest of its extension (compression, .gpg)."""
    parts = naming.parse_data_key(backup.key.rsplit("/", 1)[-1])
    if parts is None:
        raise AssertionError("build_listing keeps only keys that parse")
    extension = parts.extension
    payload = "." + extension.split(".")[1]
    if payload not in FORMATS:
        raise BackupError("restore", f"{backup.key}: this version cannot restore {payload} objects")
    return FORMATS[payload], extension[len(payload) :]


@dataclass
class RestoreOutcome:
    changed: bool
    at: str  # the time of the newest backup applied
    objects: list[dict]
    bytes: int
    dest: str | None
    verified: bool
    method: str = "chain"  # "chain": every object of the chain applied; "index": only those holding paths
    note: str | None = None  # why a paths restore applied the whole chain
    retrieval: dict | None = None  # archived objects asked for, under way, ready (retrieval.py)
    pending: bool = False  # archived objects are not ready yet: nothing was restored, run again later

    def as_dict(self) -> dict:
        """Every field."""
        return dict(vars(self))


class RestoreRun(ConnectedRun):
    def __init__(
        self, request: RestoreRequest, check_mode: bool = False, progress: Callable[[str, int], None] | None = None
    ):
        self.request = request
        self.progress = progress or (lambda _stage, _size: None)
        self._done = 0
        self.check_mode = check_mode
        self.set_prefix = request.set_prefix
        self.manifests: dict[str, dict] = {}

    def run(self) -> RestoreOutcome:
        request = self.request
        problems = request.problems()
        if problems:
            raise BackupError("config", "; ".join(problems))
        self.bucket = Bucket.checked(request.connection, request.bucket)
        chain = self._chain()
        objects = [
            {"key": b.key, "kind": b.kind, "bytes": b.size, "sha256": self.manifests[b.key].get("sha256")}
            for b in chain
        ]
        fmt, _compression = _format_of(chain[0])
        option = "dump_to" if request.dump_to else fmt.target
        target = getattr(request, option)
        if not request.verify and not target:
            given = next(name for name in TARGETS if getattr(request, name))
            raise BackupError("config", f"set {request.name} is restored with {fmt.target} or dump_to, not {given}")
        outcome = RestoreOutcome(
            changed=not request.verify,
            at=naming.iso(chain[-1].stamp),
            objects=objects,
            bytes=sum(b.size for b in chain),
            dest=target,
            verified=False,
        )
        if target and option in ("dest", "svn_repository") and not self.check_mode:
            self._check_target(option, target)
        with request.keys() as keys:
            selection = self._selection(chain, keys, outcome) if option == "dest" and request.paths else None
            needed = [chain[number] for number in sorted(selection.objects)] if selection else chain
            if not self._retrieved(needed, outcome) or self.check_mode:
                return outcome
            if request.verify:
                for backup in chain:
                    self._apply(backup, keys, Stage("verify", list(fmt.verify)))
                outcome.verified = True
            elif option == "dump_to":
                self._dump_to(target, chain, keys)
            elif fmt.load is None:
                self._check_digests(chain)
                loader = database_loader(option, target, request.login, request.force, fmt.plain_sql)
                with loader as stage:
                    for backup in chain:
                        self._apply(backup, keys, stage)
            elif selection is not None:
                self._restore_selected(target, chain, selection, keys)
            else:
                self._restore_into(target, fmt, chain, keys)
        return outcome

    def _selection(self, chain: list[Backup], keys: DecryptionKeys, outcome: RestoreOutcome) -> Selection | None:
        """What of the chain holds the paths asked for, through the file indexes; None (and a note
        in ``outcome``) where the whole chain is applied instead: asked so, or backups made
        before indexes. A missing or damaged index fails: ``index: false`` is the way around it."""
        if not self.request.index:
            outcome.note = "index: false: the whole chain was applied"
            return None
        try:
            index = read_chain(self._s3, chain, self.manifests, keys)
        except NoIndex as exc:
            outcome.note = f"{exc.cause}: the whole chain was applied"
            return None
        selection = select(index, [encoded(path) for path in self.request.paths])
        read = [chain[number] for number in sorted(selection.objects)]
        outcome.method = "index"
        outcome.objects = [o for o in outcome.objects if o["key"] in {b.key for b in read}]
        outcome.bytes = sum(backup.size for backup in read)
        return selection

    def _retrieved(self, needed: list[Backup], outcome: RestoreOutcome) -> bool:
        """Whether every object in ``needed`` can be read now; else the archived ones not yet asked
        for are asked for (in check mode, said to be), and with ``wait`` waited for."""
        archived = survey(self._s3, [volume for backup in needed for volume in backup.volumes])
        if not archived:
            return True
        retrieval = self.request.retrieval
        if self.check_mode:
            problem = tier_problem(archived, retrieval.tier)
            if problem:
                raise BackupError("config", problem)
            outcome.retrieval = report(archived, [], retrieval, check_mode=True)
            return all(each.state == "ready" for each in archived)
        asked = request_retrieval(self._s3, archived, retrieval)
        outcome.retrieval = report(archived, asked, retrieval)
        if all(each.state == "ready" for each in archived):
            return True
        if retrieval.wait:
            wait_until_ready(self._s3, archived, retrieval, self.progress)
            outcome.retrieval = report(archived, asked, retrieval)
            return True
        outcome.pending, outcome.changed = True, bool(asked)
        return False

    def _restore_selected(self, target: str, chain: list[Backup], selection: Selection, keys: DecryptionKeys) -> None:
        """Extract the selected members object by object into a work directory beside ``target``,
        older objects through a staging directory, then put it in place."""
        newest = len(chain) - 1
        with WorkDirectory(target) as work:
            tree, names = work.tree, work.file("names")  # the names outside the tree, whose times tar sets
            os.mkdir(tree, 0o700)
            os.mkdir(names, 0o700)
            for number in sorted(selection.objects):
                plan = selection.objects[number]
                into = tree if number == newest else os.path.join(tree, f".s3napback-stage-{number}")
                os.makedirs(into, exist_ok=True)
                extract = ["tar", "--extract", "--file=-", f"--directory={into}", *SELECTED]
                extract.append(f"--files-from={names_file(names, number, plan)}")
                self._apply(chain[number], keys, Stage("tar", extract))
                if number == newest:
                    remove_extras(tree, plan)
                else:
                    move_into(tree, into, plan)
            work.put_tree_in_place()

    def _dump_to(self, path: str, chain: list[Backup], keys: DecryptionKeys) -> None:
        """The chain's decrypted, decompressed streams, one after the other, into ``path``."""
        if os.path.lexists(path) and not self.request.force:
            raise BackupError("restore", f"dump_to {path} exists; set force to replace it")
        with WorkDirectory(path) as work:
            partial = work.file("dump")
            for backup in chain:
                self._apply(backup, keys, Stage("tee", ["tee", "--append", "--", partial]))
            os.replace(partial, path)  # a file is replaced in one step on every file system

    def _chain(self) -> list[Backup]:
        chain, self.manifests = chain_at(self._s3, self.set_prefix, self.request.at, self.request.gpg_verify_key)
        return chain

    def _check_target(self, option: str, path: str) -> None:
        if os.path.lexists(path) and not os.path.isdir(path):
            raise BackupError("restore", f"{option} {path} exists and is not a directory")
        if os.path.isdir(path) and os.listdir(path) and not self.request.force:
            raise BackupError("restore", f"{option} {path} is not empty; set force to replace its contents")

    def _restore_into(self, target: str, fmt: Format, chain: list[Backup], keys: DecryptionKeys) -> None:
        """Apply the whole chain into a work directory beside ``target``, then put it in place.

        With ``paths`` (``index: false``, or backups made before file indexes), still the whole
        chain is applied: a diff records deletions, renames and type changes in its directories'
        entries, which tar replays only when it extracts those directories. Only the asked-for
        paths are then carried over.
        """
        if fmt.load is None:
            raise AssertionError("run() restores a format without load into a database instead")
        with WorkDirectory(target) as work:
            tree = work.tree
            os.mkdir(tree, 0o700)
            if fmt.create:
                _run_once(fmt.create(tree))
            load = fmt.load(tree)
            for backup in chain:
                self._apply(backup, keys, Stage(load[0], load))
            if self.request.paths:
                selected = work.file("selected")
                _carry_paths(tree, selected, self.request.paths)
                shutil.rmtree(tree)
                os.rename(selected, tree)
            work.put_tree_in_place()

    def _data(self, backup: Backup):
        """The bytes of ``backup``'s data, in order: its one object read as the version first seen,
        or its volumes (whose count chain_at checked), checked by the SHA-256 of the whole."""
        if len(backup.volumes) == 1:
            return read_object(self._s3, backup.key)
        return read_volumes(self._s3, backup.volumes)

    def _check_digest(self, backup: Backup, digest) -> None:
        if digest.hexdigest() != self.manifests[backup.key].get("sha256"):
            raise BackupError("restore", f"{backup.key} is damaged: its SHA-256 differs from its manifest's")

    def _check_digests(self, chain: list[Backup]) -> None:
        """Every object's SHA-256 before any of it reaches a database, which cannot be thrown away
        the way a work directory is (one more download, of dumps only)."""
        checked = 0
        for backup in chain:
            digest = hashlib.sha256()
            for chunk in self._data(backup):
                digest.update(chunk)
                checked += len(chunk)
                self.progress("checking", checked)
            self._check_digest(backup, digest)

    def _apply(self, backup: Backup, keys: DecryptionKeys, sink: Stage) -> None:
        """Stream one object through decryption, decompression and ``sink``, checking its SHA-256."""
        _fmt, extension = _format_of(backup)
        stages = []
        if extension.endswith(".gpg"):
            stages.append(keys.decrypt_stage())
            extension = extension[: -len(".gpg")]
        decompress = decompressor_stage(extension)
        stages += [decompress, sink] if decompress else [sink]
        digest = hashlib.sha256()
        failure = None
        whole = True
        chunks = self._data(backup)
        with Pipeline(stages, feed=True, collect=False) as pipe, contextlib.closing(chunks):
            keys.release_fds()
            if pipe.stdin is None:
                raise AssertionError("a pipeline with feed=True has a stdin")
            for chunk in chunks:
                digest.update(chunk)
                self._done += len(chunk)
                self.progress("verifying" if self.request.verify else "restoring", self._done)
                try:
                    pipe.stdin.write(chunk)
                except BrokenPipeError:  # a stage stopped early: its exit status says why; stop downloading
                    whole = False
                    chunks.close()
                    break
            try:
                pipe.finish()
            except BackupError as exc:
                failure = exc
        if whole:  # damage is the likelier cause of a failed stage, when the digest can tell
            self._check_digest(backup, digest)
        if failure is not None:
            raise BackupError(failure.stage, f"{backup.key}: {failure.cause}", failure.details) from failure
        if not whole:
            raise BackupError("restore", f"{backup.key}: the pipe stopped reading before the end of the object")


def _run_once(argv: list[str]) -> None:
    with Pipeline([Stage(argv[0], argv)], collect=False) as pipe:
        pipe.finish()


def _carry_paths(work: str, selected: str, paths: list[str]) -> None:
    """Move each of ``paths`` from the restored tree ``work`` into ``selected``, under parent
    directories with the modes, owners and times they have in ``work``."""
    members = sorted({os.path.normpath(path.strip("/")) for path in paths}, key=len)
    missing = [member for member in members if not os.path.lexists(os.path.join(work, member))]
    if missing:
        raise BackupError("restore", f"not in the backup at that time: {', '.join(missing)}")
    wanted = {""}
    for member in members:
        parts = member.split(os.sep)
        wanted.update(os.path.join(*parts[:depth]) for depth in range(1, len(parts)))
    parents = sorted(wanted, key=len)
    stats = {parent: os.lstat(os.path.join(work, parent)) for parent in parents}  # before moves touch them
    for parent in parents:
        target = os.path.join(selected, parent)
        if not os.path.lexists(target):
            os.mkdir(target, 0o700)
            os.chown(target, stats[parent].st_uid, stats[parent].st_gid)
            os.chmod(target, stats[parent].st_mode & 0o7777)
    for member in members:
        target = os.path.join(selected, member)
        if not os.path.lexists(target):  # else it came inside a directory named before it
            os.rename(os.path.join(work, member), target)
    for parent in reversed(parents):  # adding entries moved the parents' mtimes
        os.utime(os.path.join(selected, parent), ns=(stats[parent].st_atime_ns, stats[parent].st_mtime_ns))


def run_restore(
    request: RestoreRequest, check_mode: bool = False, progress: Callable[[str, int], None] | None = None
) -> RestoreOutcome:
    """Restore or verify one set. ``progress(stage, bytes)`` hears about long work as it goes."""
    return RestoreRun(request, check_mode, progress).run()
