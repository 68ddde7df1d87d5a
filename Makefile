# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYVER = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: demo fleet-demo test lint pytest sanity units system system-tests clean

$(VENV)/.installed: requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

system:
	tests/scripts/system-packages.sh

system-tests:
	tests/scripts/system-packages.sh --tests

## demo: a real backup and restore against a local S3 server started for it (no AWS account needed)
demo: system $(VENV)/.installed
	VENV=$(VENV) examples/demo.sh

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

pytest: system-tests $(VENV)/.installed
	$(BIN)/pytest

sanity: system-tests $(VENV)/.installed
	VENV=$(VENV) tests/scripts/ansible-test.sh sanity --venv --python $(PYVER)

units: system-tests $(VENV)/.installed
	VENV=$(VENV) tests/scripts/ansible-test.sh units --venv --python $(PYVER)

clean:
	rm -rf $(VENV) tests/output .pytest_cache .ruff_cache
