"""The restore the README documents, done with standard tools: download each backup of the chain
in key order, its volumes one after the other, and pipe it through ``gpg -d | zstd -d | tar
--listed-incremental=/dev/null -x``."""

from __future__ import annotations

import re
import subprocess

DECOMPRESS = {".zst": ["zstd", "-d", "-c", "-q"], ".gz": ["gzip", "-d", "-c"]}


def chain_keys(client, bucket: str, set_prefix: str, until: str | None = None) -> list[str]:
    """The newest full at or before ``until`` and the diffs after it, in key order."""
    listed = client.list_objects_v2(Bucket=bucket, Prefix=set_prefix).get("Contents", [])
    keys = sorted(o["Key"] for o in listed if not re.search(r"(\.json|\.index|~\d+)$", o["Key"]))
    keys = [k for k in keys if until is None or k <= until]
    fulls = [i for i, key in enumerate(keys) if "-full." in key]
    return keys[fulls[-1] :]


def restore_object(client, bucket: str, key: str, secret_home: str | None, dest: str) -> None:
    stages = []
    if key.endswith(".gpg"):
        stages.append(["gpg", "--homedir", secret_home, "--batch", "--quiet", "--decrypt"])
        key_body = key[: -len(".gpg")]
    else:
        key_body = key
    for suffix, argv in DECOMPRESS.items():
        if key_body.endswith(suffix):
            stages.append(argv)
    stages.append(["tar", "--extract", "--listed-incremental=/dev/null", "--file=-", f"--directory={dest}"])
    processes = []
    previous = subprocess.PIPE
    for argv in stages:
        process = subprocess.Popen(argv, stdin=previous, stdout=subprocess.PIPE if argv is not stages[-1] else None)
        if processes:
            processes[-1].stdout.close()
        processes.append(process)
        previous = process.stdout
    head = processes[0].stdin
    for volume in volumes(client, bucket, key):
        for chunk in client.get_object(Bucket=bucket, Key=volume)["Body"].iter_chunks(1 << 20):
            head.write(chunk)
    head.close()
    codes = [p.wait() for p in processes]
    if any(codes):
        raise RuntimeError(f"restoring {key}: exit statuses {codes} of {stages}")


def restore_chain(
    client, bucket: str, set_prefix: str, secret_home: str | None, dest: str, until: str | None = None
) -> list[str]:
    keys = chain_keys(client, bucket, set_prefix, until)
    for key in keys:
        restore_object(client, bucket, key, secret_home, dest)
    return keys


def volumes(client, bucket: str, key: str) -> list[str]:
    """The keys of the backup ``key``'s data: itself, then KEY~00002 ... in order."""
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key + "~").get("Contents", [])
    later = sorted(o["Key"] for o in listed if re.fullmatch(r"~\d{5}", o["Key"][len(key) :]))
    return [key, *later]


def decoded_object(client, bucket: str, key: str, secret_home: str) -> bytes:
    """A small backup's plain content (a dump): ``gpg -d | zstd -d``, in memory."""
    data = b"".join(client.get_object(Bucket=bucket, Key=each)["Body"].read() for each in volumes(client, bucket, key))
    stages = [["gpg", "--homedir", secret_home, "--batch", "--quiet", "--decrypt"], DECOMPRESS[".zst"]]
    for argv in stages:
        data = subprocess.run(argv, input=data, capture_output=True, check=True).stdout
    return data
