# gradestack: the commands a newcomer needs.
#   make local   deploy everything on this machine, in containers (the embedded default)
#   make test    the whole test suite: lint, unit, integration, Terraform, Molecule, end to end
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

PYTHON_SOURCES := services testsupport tests bench scripts plugins molecule conftest.py
# The full-system suites: a whole emulated-AWS deploy with its rollbacks and destroy,
# and a whole local deploy with its fault tests. Each runs in its own pytest process.
SYSTEM_SUITES := tests/aws tests/e2e/test_local_deploy.py
# JUNIT_DIR=<dir>: each pytest process writes <dir>/pytest-<suite>.xml (.ci/run sets it).
junit = $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/pytest-$(1).xml)

.PHONY: help setup lint lint-python lint-yaml lint-ansible lint-terraform test test-python test-aws test-local-e2e \
        test-system test-roles test-containers local \
        verify destroy-local emulated bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## install everything the tools and tests need (idempotent; quick when nothing is missing)
	@bash scripts/setup.sh

lint: setup lint-python lint-yaml lint-ansible lint-terraform ## every static check

lint-python:
	$(BIN)/ruff check $(PYTHON_SOURCES)
	$(BIN)/ruff format --check $(PYTHON_SOURCES)

lint-yaml:
	$(BIN)/yamllint --strict .

lint-ansible:
	$(BIN)/ansible-lint --strict

lint-terraform:
	@bash scripts/lint-terraform.sh

# Three lanes run side by side, each in its own process: they spend much of their
# time waiting on containers, package installs, Terraform and the emulator, and CI
# has two cores. Output is grouped per lane (--output-sync); make fails if any fails.
test: setup lint ## the whole suite, as CI runs it
	$(MAKE) --no-print-directory -j3 --output-sync=target test-python test-aws test-containers

# Molecule, then the local end to end: both drive podman containers, and one after
# the other they leave room for the other two lanes. The second runs even when the
# first fails, so that one CI run reports both.
test-containers: ## Molecule, then the local end to end (one lane of make test)
	@status=0; \
	$(MAKE) --no-print-directory test-roles || status=1; \
	$(MAKE) --no-print-directory test-local-e2e || status=1; \
	exit $$status

test-python: ## pytest without the full-system suites: unit, integration (PostgreSQL, ActiveMQ, moto), Terraform, web + worker
	$(BIN)/pytest $(addprefix --ignore=,$(SYSTEM_SUITES)) $(call junit,main) $(PYTEST_ARGS)

test-aws: ## the AWS path against the emulated environment: deploy, no-op, guard, faults, rollbacks, destroy
	$(BIN)/pytest tests/aws $(call junit,aws) $(PYTEST_ARGS)

test-local-e2e: ## the local environment end to end: deploy, no-op, verify, submissions, faults, destroy
	$(BIN)/pytest tests/e2e/test_local_deploy.py $(call junit,local-e2e) $(PYTEST_ARGS)

test-system: setup ## the two full-system suites (AWS path, local end to end), one after the other
	$(BIN)/pytest $(SYSTEM_SUITES) $(PYTEST_ARGS)

test-roles: ## Molecule: one scenario per role
	JUNIT_DIR="$(JUNIT_DIR)" bash scripts/run-molecule.sh

# The local environment talks to its own S3 stand-in with its own keys: a profile of
# the caller's (AWS_PROFILE) next to them makes the amazon.aws modules refuse to run.
LOCAL_ENV := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE

local: setup ## deploy the local environment (ansible-playbook deploy.yml -i inventories/local)
	$(LOCAL_ENV) $(BIN)/ansible-playbook deploy.yml -i inventories/local

# Once, from this machine (the operator vantage), under the same lock as the verifier
# container's scheduled runs: they share reports/ and would otherwise overlap.
verify: setup ## verify the local environment once from this machine (ansible-playbook verify.yml -i inventories/local)
	@mkdir -p reports
	$(LOCAL_ENV) flock reports/.verify-local.lock $(BIN)/ansible-playbook verify.yml -i inventories/local

destroy-local: setup ## remove every container, network, volume and image of the local environment
	$(LOCAL_ENV) $(BIN)/ansible-playbook destroy.yml -i inventories/local

emulated: setup ## the production path against an AWS emulator (moto) on this machine, no AWS account
	bash scripts/emulated.sh deploy

bench: setup ## benchmarks (not tests): print ratios measured side by side
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove caches and generated state (keeps .venv; .state/ only with CLEAN_STATE=1)
	rm -rf .cache .pytest_cache .ruff_cache reports
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +
	@if [ "$(CLEAN_STATE)" = 1 ]; then rm -rf .state; fi
