# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a chain's file indexes from the bucket: each one downloaded, checked against the
SHA-256 its manifest records, decrypted and decompressed as its data object would be, and parsed.
Index objects only: never a byte of a data object."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import threading

from . import naming
from .chain_index import ChainIndex
from .compression import decompressor_stage
from .download import read_object
from .errors import BackupError
from .file_index import BackupIndex, DamagedIndex, parse_index
from .gpg import DecryptionKeys
from .pipeline import Pipeline
from .s3 import Bucket
from .set_listing import Backup

PARALLEL = 4  # indexes fetched and decrypted at once


class NoIndex(BackupError):
    """A backup made before s3napback kept file indexes: only the whole chain restores it."""

    def __init__(self, key: str):
        super().__init__("index", f"{key} has no file index (made before s3napback kept them)")


def _decoders(key: str, keys: DecryptionKeys) -> list:
    """gpg and the decompressor for ``key``'s index: its data object's, told by the data's key
    (``...-full.tar.zst.gpg``: zstd, then gpg)."""
    parts = naming.parse_data_key(key.rsplit("/", 1)[-1])
    layers = parts.extension.split(".")[2:] if parts else []  # after the payload's (".tar")
    stages = []
    if layers and layers[-1] == "gpg":
        stages.append(keys.decrypt_stage())
        layers.pop()
    decompress = decompressor_stage("." + layers[-1]) if layers else None
    return stages + ([decompress] if decompress else [])


_STARTING = threading.Lock()  # a passphrase pipe is closed here once its gpg holds it: one start at a time


def read_index(bucket: Bucket, backup: Backup, manifest: dict, keys: DecryptionKeys) -> BackupIndex:
    """``backup``'s file index; NoIndex for a backup made without one, a BackupError naming the
    index for one that is missing, damaged or not readable with these keys."""
    recorded = manifest.get("index")
    if not isinstance(recorded, dict):
        raise NoIndex(backup.key)
    index_key = recorded.get("key") or backup.index_key
    if not bucket.exists(index_key):
        raise BackupError("index", f"the file index {index_key} is missing (index: false applies the whole chain)")
    digest = hashlib.sha256()
    chunks = _hashed(read_object(bucket, index_key), digest)
    with contextlib.ExitStack() as stack:
        with _STARTING:
            stages = _decoders(backup.key, keys)
            pipe = stack.enter_context(Pipeline(stages, feed=True)) if stages else None
            keys.release_fds()
        plain = _decoded(chunks, pipe) if pipe else b"".join(bytes(chunk) for chunk in chunks)
        if pipe is not None and digest.hexdigest() == recorded.get("sha256"):  # else damage is the cause
            try:
                pipe.finish()
            except BackupError as exc:
                raise BackupError(exc.stage, f"{index_key}: {exc.cause}") from exc
        elif pipe is not None:
            pipe.kill()
    if digest.hexdigest() != recorded.get("sha256"):
        raise BackupError("index", f"{index_key} is damaged: its SHA-256 differs from its manifest's")
    try:
        return parse_index(index_key, plain)
    except (DamagedIndex, UnicodeDecodeError, ValueError) as exc:
        raise BackupError("index", f"{index_key} does not read as a file index: {exc}") from exc


def _decoded(chunks, pipe: Pipeline) -> bytes:
    """``chunks`` through the decoders: a thread feeds them while this one reads."""
    failed: list[BaseException] = []
    writer = threading.Thread(target=_write_all, args=(chunks, pipe.stdin, failed), daemon=True)
    writer.start()
    plain = pipe.stdout.read() if pipe.stdout else b""
    writer.join()
    if failed:
        raise failed[0]
    return plain


def _hashed(chunks, digest):
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _write_all(chunks, stdin, failed: list) -> None:
    """Feed the decoders; a download that fails is kept in ``failed`` for the reading thread, and
    the pipe is closed whatever happens, so that the decoders end and the reader with them."""
    try:
        for chunk in chunks:
            stdin.write(chunk)
    except (BrokenPipeError, OSError):
        pass  # a stage that stopped reading says why in finish()
    except BaseException as exc:  # the reading thread raises it
        failed.append(exc)
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def read_chain(bucket: Bucket, backups: list[Backup], manifests: dict[str, dict], keys: DecryptionKeys) -> ChainIndex:
    """The indexes of ``backups`` (a chain, full first), fetched ``PARALLEL`` at a time."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL, thread_name_prefix="s3-index") as pool:
        futures = [pool.submit(read_index, bucket, b, manifests[b.key], keys) for b in backups]
        indexes = [future.result() for future in futures]
    return ChainIndex([backup.key for backup in backups], indexes)
