#!/usr/bin/env python3
"""Stream one S3 object to stdout, like ``aws s3 cp s3://BUCKET/KEY -``, for restoring by hand.

Usage: s3cat.py BUCKET KEY [ENDPOINT_URL]   (credentials from the usual AWS_* variables or profile)

It reads the body in chunks rather than with download_fileobj, which can hang when the target is a
pipe (s3transfer 0.19), so memory stays small whatever the object's size.
"""

import sys

import boto3


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bucket, key = sys.argv[1], sys.argv[2]
    endpoint = sys.argv[3] if len(sys.argv) == 4 else None
    body = boto3.client("s3", endpoint_url=endpoint).get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(1 << 20):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
