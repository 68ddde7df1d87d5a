#!/usr/bin/env python3
"""Stream a backup's data to stdout: the object KEY, then its volumes KEY~00002, KEY~00003 ...
in order, when there are any (like ``aws s3 cp s3://BUCKET/KEY -`` for each), for restoring by hand.

Usage: s3cat.py BUCKET KEY [ENDPOINT_URL]   (credentials from the usual AWS_* variables or profile)

Any other object (a manifest, a file index) is streamed alone. It reads each body in chunks rather
than with download_fileobj, which can hang when the target is a pipe (s3transfer 0.19), so memory
stays small whatever the object's size. A gap in the volumes' numbers fails it (exit 1).
"""

import re
import sys

import boto3


def volumes(client, bucket, key):
    """KEY's volumes after the first, in order: KEY~ and five or more digits."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key + "~"):
        found += [o["Key"] for o in page.get("Contents", []) if re.fullmatch(r"~\d{5,}", o["Key"][len(key) :])]
    found.sort(key=lambda each: int(each[len(key) + 1 :]))
    for number, each in enumerate(found, start=2):
        if int(each[len(key) + 1 :]) != number:
            raise SystemExit(f"s3cat.py: volume {number} of {key} is missing")
    return found


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    bucket, key = sys.argv[1], sys.argv[2]
    endpoint = sys.argv[3] if len(sys.argv) == 4 else None
    client = boto3.client("s3", endpoint_url=endpoint)
    for each in [key, *volumes(client, bucket, key)]:
        for chunk in client.get_object(Bucket=bucket, Key=each)["Body"].iter_chunks(1 << 20):
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
