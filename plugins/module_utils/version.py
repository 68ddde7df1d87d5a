# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's version, written into every manifest; kept equal to galaxy.yml's by a unit test."""

VERSION = "0.1.0"
