#!/usr/bin/env python3
"""Stream a backup's data to stdout: the object KEY, then its volumes KEY~00002, KEY~00003 ...
in order, as many as its manifest KEY.json names (like ``aws s3 cp s3://BUCKET/KEY -`` for each),
for restoring by hand.

Usage: s3cat.py BUCKET KEY [ENDPOINT_URL]   (credentials from the usual AWS_* variables or profile)

Any other object (a manifest, a file index) is streamed alone. It reads each body in chunks rather
than with download_fileobj, which can hang when the target is a pipe (s3transfer 0.19), so memory
stays small whatever the object's size. A volume that is not there fails it (exit 1).
"""

import json
import sys

import boto3
import botocore.exceptions


def volumes(client, bucket, key):
    """KEY and its later volumes, as many as KEY.json names (one without a manifest)."""
    try:
        count = json.load(client.get_object(Bucket=bucket, Key=key + ".json")["Body"]).get("volumes", 1)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        count = 1
    return [key] + [f"{key}~{number:05d}" for number in range(2, count + 1)]


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[4], file=sys.stderr)
        return 2
    bucket, key = sys.argv[1], sys.argv[2]
    endpoint = sys.argv[3] if len(sys.argv) == 4 else None
    client = boto3.client("s3", endpoint_url=endpoint)
    for number, each in enumerate(volumes(client, bucket, key), start=1):
        try:
            body = client.get_object(Bucket=bucket, Key=each)["Body"]
        except client.exceptions.NoSuchKey:
            raise SystemExit(f"s3cat.py: volume {number} of {key} is missing") from None
        for chunk in body.iter_chunks(1 << 20):
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
