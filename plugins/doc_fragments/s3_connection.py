# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
      - When set, requests use path-style addressing unless O(addressing_style) says otherwise.
      - When not set, E(AWS_URL), E(AWS_ENDPOINT_URL_S3) or E(AWS_ENDPOINT_URL) are used, else AWS S3.
      - The settings each store needs are in the collection's guide, C(docs/guide/s3-compatible-stores.md).
    type: str
    aliases: [aws_endpoint_url, s3_url]
    version_added: 0.1.0
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the endpoint. Turn off only for a test server.
      - A store whose certificate comes from a private CA needs O(aws_ca_bundle), not this.
    type: bool
    default: true
    version_added: 0.1.0
  aws_ca_bundle:
    description:
      - A file of PEM certificates to verify the endpoint's certificate with, for a store whose
        certificate comes from a private or self-signed CA. It replaces the system's CAs.
      - When not set, E(AWS_CA_BUNDLE) is used, then the C(ca_bundle) of the profile's AWS config,
        then the CAs botocore ships with.
      - Ignored when O(validate_certs=false).
    type: path
    version_added: 0.1.0
  checksum_calculation:
    description:
      - V(when_supported) sends a CRC32 with every upload and part, computed by s3napback and sent
        in a header (never in an aws-chunked trailer, which some S3-compatible stores keep as
        data); the store checks it, and a multipart object keeps a checksum made of its parts'.
      - V(when_required) sends no checksum, for a store that rejects checksum headers.
      - Also sets botocore's C(request_checksum_calculation) and C(response_checksum_validation).
      - When not set, botocore's own setting decides (E(AWS_REQUEST_CHECKSUM_CALCULATION), or
        C(request_checksum_calculation) in the profile's AWS config), which is V(when_supported)
        from botocore 1.36 on. botocore before 1.36 (Debian 12's) has neither setting, so unset
        means V(when_required) there; V(when_supported) still sends s3napback's own CRC32s.
      - Whatever the setting, every object written is checked afterwards with one HEAD request
        (its size, and its CRC32 where the store returns one); a backup whose object the store
        did not keep as sent is removed and fails.
    type: str
    choices: [when_supported, when_required]
    version_added: 0.1.0
  addressing_style:
    description:
      - How the bucket is named in requests. V(path) puts it in the URL's path
        (C(https://host/bucket/key)), for stores without wildcard DNS or certificates;
        V(virtual) in the host name (C(https://bucket.host/key)); V(auto) lets botocore choose.
      - When not set, V(path) with O(endpoint_url), else V(auto).
    type: str
    choices: [auto, path, virtual]
    version_added: 0.1.0
requirements:
  - python >= 3.9
  - boto3 >= 1.28 (the modules use the botocore it brings)
"""
