"""Fuzzing the parsers of what comes from outside: the host command's config file, the
manifests and keys read back from the bucket. Whatever they hold, the answer is a value or a
clean BackupError, never a traceback."""

import datetime
import os
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.s3napback.s3napback.plugins.module_utils import config, naming, request
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.set_listing import Backup, Chain, chain_problem

SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Option names the file may use, with a few that do not exist; no database "all", which would
# try to reach a server.
KEYS = st.sampled_from([*sorted(set(request.BACKUP) - {"mysql_database", "postgresql_database"}), "bogus", "jobs", ""])
JOBS = st.dictionaries(KEYS, VALUES, max_size=6)
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"defaults": JOBS | VALUES, "jobs": st.lists(JOBS, max_size=3) | VALUES}),
    st.dictionaries(st.sampled_from(["defaults", "jobs", "log_file", "metrics_dir", "other"]), VALUES, max_size=4),
    VALUES,
)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_text(text: str):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(text)
    os.chmod(handle.name, 0o600)
    try:
        return config.load(handle.name)
    finally:
        os.unlink(handle.name)


@FUZZ
@given(DOCUMENTS)
def test_any_config_document_loads_or_fails_cleanly(document):
    try:
        loaded = load_text(yaml.safe_dump(document))
    except BackupError as exc:
        assert exc.stage == "config" and "\n" not in str(exc)
    else:
        assert all(job.request.bucket for job in loaded.jobs)


@FUZZ
@given(st.text(max_size=200))
def test_any_config_text_loads_or_fails_cleanly(text):
    try:
        load_text(text)
    except BackupError as exc:
        assert exc.stage == "config"


MANIFESTS = st.dictionaries(st.sampled_from(["key", "kind", "parent", "chain", "sha256", "x"]), VALUES, max_size=5)


@FUZZ
@given(st.lists(MANIFESTS, min_size=1, max_size=4))
def test_any_manifest_makes_a_chain_problem_or_none(manifests):
    stamp = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    backups = [
        Backup(f"h/s/2026010{i}T000000Z-{'full' if i == 0 else 'diff'}.tar", "full" if i == 0 else "diff", stamp, 1)
        for i in range(len(manifests))
    ]
    by_key = {backup.manifest_key: manifest for backup, manifest in zip(backups, manifests)}
    problem = chain_problem(Chain(backups[0], backups[1:]), by_key.__getitem__)
    assert problem is None or isinstance(problem, str)


@FUZZ
@given(st.text(max_size=80))
def test_any_object_name_parses_or_is_not_a_backup(name):
    parts = naming.parse_data_key(name)
    assert parts is None or naming.data_key("h", "s", parts.stamp, parts.kind, parts.extension).endswith(name)
