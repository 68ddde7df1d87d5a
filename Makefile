# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYVER = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: demo demo-stop fleet-demo test lint pytest sanity units system system-tests clean

# make demo's virtualenv: the runtime only (ansible-core, the engine's libraries, moto for the local
# S3 server) and the s3napback command, editable from this checkout. ansible-core 2.19 needs Python
# 3.11 or newer on the controller: say so before pip stops at "No matching distribution".
$(VENV)/.runtime: requirements-demo.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "make: the controller needs Python 3.11 or newer (ansible-core 2.19); $(PYTHON) is %d.%d: make PYTHON=python3.11 ..." % sys.version_info[:2])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip
	$(BIN)/pip install --quiet -r requirements-demo.txt
	@# setuptools 65 calls its [tool.setuptools] table "beta" and warns of nothing wrong here
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# make test's: the same plus the development tools (lint, docs, pytest-xdist, the benchmark's)
$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

system:
	tests/scripts/system-packages.sh

system-tests:
	tests/scripts/system-packages.sh --tests

## demo: a real backup and restore against a local S3 server started for it (no AWS account needed);
## it leaves the collection in ./collections (ansible.cfg), the s3napback command in the virtualenv,
## and the S3 server running for the next commands it prints, until demo-stop
demo: system $(VENV)/.runtime
	VENV=$(VENV) examples/demo.sh

demo-stop:
	examples/demo-stop.sh

## fleet-demo: the role on three local hosts (chroots of a minimal Debian), as root
fleet-demo: $(VENV)/.installed
	tests/scripts/system-packages.sh debootstrap subversion
	VENV=$(VENV) examples/fleet/demo.sh

## test: lint, every pytest suite (real S3 server, gpg, tar), ansible-test sanity and units
test: lint pytest sanity units

lint: system-tests $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tests/scripts/ansible-lint.sh
	$(BIN)/yamllint --strict .
	$(BIN)/antsibull-changelog lint
	VENV=$(VENV) tests/scripts/collection-docs.sh
	$(BIN)/mypy

## docs: the collection's docs site (antsibull-docs, Sphinx) in tests/output/docs/build/html
.PHONY: docs
docs: $(VENV)/.installed
	VENV=$(VENV) tests/scripts/collection-docs.sh html

# Two runs. Every test that can share the machine runs in parallel, PYTEST_WORKERS processes (most
# of a test's time is spent waiting on a server or a pipe), a file whole on one worker, so that a
# module's fixture (the fleet, the Galaxy tarball) is made once; each worker starts its own servers.
# (--dist loadgroup would be finer, but pytest-xdist 3.8's groups do nothing under pytest 9.) Then,
# with nothing beside them, the tests marked `alone`: they watch every process on the machine for a
# secret, or measure memory that other processes share (Pss).
PYTEST_WORKERS ?= 4
pytest: system-tests $(VENV)/.installed bench/node_modules/.installed
	$(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile -m "not alone"
	$(BIN)/pytest -m alone

## test-oldest-python: the engine's unit and functional tests under CPython 3.9, the oldest Python
## claimed for managed hosts (the machine's own: no registry here ships one), in CI
.PHONY: test-oldest-python
test-oldest-python: system-tests $(VENV)/.runtime bench/node_modules/.installed
	VENV=$(VENV) PYTEST_WORKERS=$(PYTEST_WORKERS) tests/scripts/oldest-python.sh

sanity: system-tests $(VENV)/.installed
	VENV=$(VENV) tests/scripts/ansible-test.sh sanity --venv --python $(PYVER)

units: system-tests $(VENV)/.installed
	VENV=$(VENV) tests/scripts/ansible-test.sh units --venv --python $(PYVER)

## bench-memory, bench-tempdisk, bench-overhead, bench-profile: one measurement each for docs/BENCHMARKS.md,
## a Markdown fragment on stdout and in bench/results/ (exit 1 when a target is missed);
## bench-completion: a full's wall time on s3rver split at the server's completion, bench-compression: the
## compressor's levels and job sizes on the data set (exit 1 only on a failure)
.PHONY: bench-memory bench-tempdisk bench-overhead bench-profile bench-completion bench-compression
bench-memory: $(VENV)/.installed
	command -v openssl >/dev/null || tests/scripts/system-packages.sh openssl
	PYTHONPATH=tests $(BIN)/python -m bench.memory_flat

bench-tempdisk: $(VENV)/.installed
	command -v strace >/dev/null || tests/scripts/system-packages.sh strace
	PYTHONPATH=tests $(BIN)/python -m bench.temp_disk

bench-overhead: $(VENV)/.installed
	PYTHONPATH=tests $(BIN)/python -m bench.ansible_overhead

bench-completion: bench-system $(VENV)/.installed bench/node_modules/.installed
	$(BIN)/python -m bench.completion --size $(SIZE) --rounds $(ROUNDS)

bench-compression: $(VENV)/.installed
	$(BIN)/python -m bench.compression --size $(SIZE) --rounds $(ROUNDS)

## bench-index: a full backup's time and memory with and without the file index, on the data set and
## a million small files, and ls of those (make bench-index SIZE=1G ROUNDS=3)
.PHONY: bench-index
bench-index: $(VENV)/.installed
	PYTHONPATH=tests $(BIN)/python -m bench.index_cost --size $(SIZE) --rounds $(ROUNDS)

## bench-first-restore: the host command's first and second restore after its backups on s3rver, with the
## CPU of each process (make bench-first-restore VARIANTS=before=98bc769,volumes=HEAD; BEFORE=evict evicts
## the benchmark's data from the page cache before the first, as make bench does, BEFORE=drop drops it all)
.PHONY: bench-first-restore
VARIANTS ?= this=.
BEFORE ?= nothing
bench-first-restore: bench-system $(VENV)/.installed bench/node_modules/.installed
	PYTHONPATH=tests $(BIN)/python -m bench.first_restore --size $(SIZE) --rounds $(ROUNDS) --variants $(VARIANTS) --before $(BEFORE)

## bench-tar-listing: tar | zstd on a million small files with and without tar's member listing, and
## the alternatives (make bench-tar-listing ROUNDS=3)
.PHONY: bench-tar-listing
bench-tar-listing: $(VENV)/.installed
	PYTHONPATH=tests $(BIN)/python -m bench.tar_listing --rounds $(ROUNDS)

## bench-files: find, a one-file and a 10% subtree restore through the file index, against the whole
## chain and restic (make bench-files SIZE=1G ROUNDS=3 FILES_SERVERS=s3rver-tls)
FILES_SERVERS ?= s3rver-tls
.PHONY: bench-files
bench-files: bench-system $(VENV)/.installed bench/node_modules/.installed
	PYTHONPATH=tests $(BIN)/python -m bench.file_restore --size $(SIZE) --rounds $(ROUNDS) --servers $(FILES_SERVERS)

## bench-role: the role's first and no-change runs on 1, 3 and 10 chroot hosts (the fleet test's), with
## each task's time and the controller's CPU, as root (make bench-role ROLE_HOSTS=1,3,10 ROLE_RUNS=3)
ROLE_HOSTS ?= 1,3,10
ROLE_RUNS ?= 3
.PHONY: bench-role
bench-role: $(VENV)/.installed
	tests/scripts/system-packages.sh debootstrap
	PYTHONPATH=tests $(BIN)/python -m bench.role_scaling --hosts $(ROLE_HOSTS) --runs $(ROLE_RUNS)

bench-profile: $(VENV)/.installed
	command -v openssl >/dev/null || tests/scripts/system-packages.sh openssl
	PYTHONPATH=tests $(BIN)/python -m bench.profile

## bench: every tool on both S3 servers, RUNS times, writing docs/BENCHMARKS.md and docs/benchmarks.png
## (make bench SIZE=1G RUNS=3); bench-smoke: everything once on a small data set, for CI (exit 1 when a
## tool fails or a restore differs, never because of a time)
.PHONY: bench bench-smoke bench-system
SIZE ?= 1G
RUNS ?= 3
ROUNDS ?= 5
BENCH_SERVERS ?= moto,s3rver,s3rver-tls

bench-system: system
	@missing=""; for pair in /usr/bin/aws:awscli duplicity:duplicity restic:restic npm:npm; do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	/usr/bin/python3 -c 'import boto3' 2>/dev/null || missing="$$missing python3-boto3"; \
	[ -z "$$missing" ] || tests/scripts/system-packages.sh $$missing

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund
	touch $@

bench: bench-system $(VENV)/.installed bench/node_modules/.installed
	$(BIN)/python -m bench.run --size $(SIZE) --runs $(RUNS) --servers $(BENCH_SERVERS)

bench-smoke: bench-system $(VENV)/.installed bench/node_modules/.installed
	$(BIN)/python -m bench.run --size 20M --runs 1 --servers $(BENCH_SERVERS) --markdown '' --png ''
	$(BIN)/python -m bench.completion --size 20M --rounds 1 --level 1
	$(BIN)/python -m bench.compression --size 20M --rounds 1

clean: demo-stop
	rm -rf $(VENV) tests/output .pytest_cache .ruff_cache collections .demo
