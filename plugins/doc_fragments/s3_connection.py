# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every s3napback module reaches S3: amazon.aws's option names and environment fallbacks."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - The access key ID.
      - When not set, the environment variables E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY) or
        E(EC2_ACCESS_KEY) are used, then botocore's own lookup (profile, instance role).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
    version_added: 0.1.0
  secret_key:
    description:
      - The secret access key.
      - When not set, E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY) or E(EC2_SECRET_KEY) are used.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
    version_added: 0.1.0
  session_token:
    description:
      - The session token of temporary credentials.
      - When not set, E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN) or E(EC2_SECURITY_TOKEN) are used.
    type: str
    aliases: [aws_session_token]
    version_added: 0.1.0
  profile:
    description:
      - A profile from the AWS shared credentials and config files.
      - When not set, E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE) are used.
      - O(access_key) and O(secret_key), when set, take precedence over the profile.
    type: str
    aliases: [aws_profile]
    version_added: 0.1.0
  region:
    description:
      - The region of the bucket.
      - When not set, E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION) are used.
    type: str
    aliases: [aws_region]
    version_added: 0.1.0
  endpoint_url:
    description:
      - The URL of an S3-compatible service (MinIO, Ceph, Wasabi, a local test server ...).
      - When set, requests use path-style addressing.
      - When not set, E(AWS_URL), E(AWS_ENDPOINT_URL_S3) or E(AWS_ENDPOINT_URL) are used, else AWS S3.
      - A store that rejects the CRC32 checksums botocore sends with uploads needs
        E(AWS_REQUEST_CHECKSUM_CALCULATION=when_required) in the environment, or
        C(request_checksum_calculation = when_required) in the profile's AWS config.
    type: str
    aliases: [aws_endpoint_url, s3_url]
    version_added: 0.1.0
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the endpoint. Turn off only for a test server.
    type: bool
    default: true
    version_added: 0.1.0
requirements:
  - python >= 3.9
  - boto3 >= 1.28 (the modules use the botocore it brings)
"""
