# The one entry point for people and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

FUNCTIONS    := config-reader secret-rotation parameter-notifier certificate-notifier rotation-health
FN           ?= config-reader
EVENT        ?= events/$(FN)/default.json
ENV          ?= dev
STACK_DIR    ?= $(CURDIR)/.stack
CARGO_TARGET_DIR ?= $(CURDIR)/target
export STACK_DIR CARGO_TARGET_DIR
# The Python tools' virtual environments (scripts/tools.sh); the project's comes first on PATH.
PYTHON_VENV  ?= $(CARGO_TARGET_DIR)/tools/venv
CHECKOV_VENV ?= $(CARGO_TARGET_DIR)/tools/checkov
export PYTHON_VENV CHECKOV_VENV
export PATH := $(PYTHON_VENV)/bin:$(PATH)

.PHONY: help setup lock verify-setup stack-up stack-down stack-status test unit lint demo bench build invoke audit-parameters rotate watch clean \
	package deploy outputs destroy logs put-secure-parameter put-policy-parameter invoke-watch invoke-deployed doctor doctor-deployed

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-21s %s\n", $$1, $$2}'

setup: ## Install what this machine lacks (servers from apt, Python tools from the hashed locks, arm64 target, cargo-deny)
	@scripts/setup.sh

# The lock files: uv (pinned in the dev lock) resolves requirements-*.in for every platform and
# Python 3.11 and later, with the hashes of every file. Pins still allowed are kept; UPGRADE=1
# takes the newest versions the .in files allow.
lock: setup ## Re-resolve requirements-*.in into the hashed lock files (UPGRADE=1 for the newest)
	@for name in dev checkov; do \
		uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock' \
			$(if $(UPGRADE),--upgrade) requirements-$$name.in -o requirements-$$name.lock; \
	done
	@git diff --stat -- requirements-dev.lock requirements-checkov.lock

verify-setup: ## Run setup's system and Python steps in clean Debian 12, Debian 13 and Ubuntu 24.04 root file systems (minutes)
	@scripts/tests/verify_setup_rootfs.sh

stack-up: setup ## Start the local stack (moto, PostgreSQL, MariaDB) on free loopback ports
	@scripts/stack.sh up

stack-down: ## Stop the local stack and remove its data
	@scripts/stack.sh down

stack-status: ## Say whether the local stack is up
	@scripts/stack.sh status

test: setup ## fmt, clippy, every test against the local stack, cfn-lint, checkov, template tests, deploy into moto
	@scripts/with-stack.sh scripts/check.sh

unit: ## Unit tests only (fakes, no local stack): the fast loop
	cargo test --workspace --locked --lib --bins

lint: ## fmt check and clippy only
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

demo: ## End to end on a local stack: build what it runs, deploy into moto, seed, read config, rotate, doctor, events to notifications
	@SETUP_FOR=demo scripts/setup.sh
	@scripts/with-stack.sh scripts/demo.sh

bench: setup ## Cold start, warm latency, peak memory, zip size and AWS calls per invocation
	@scripts/with-stack.sh scripts/bench.sh

build: setup ## Release arm64 zips for Lambda: target/lambda/<function>/bootstrap.zip
	cargo lambda build --release --arm64 --output-format zip --locked $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do ls -l $(CARGO_TARGET_DIR)/lambda/$$f/bootstrap.zip; done

invoke: setup ## Run the built function FN locally with EVENT (ENV=dev|prod, FNENV="K=V ...") against the local stack
	cargo build --locked -p $(FN)
	@FN=$(FN) EVENT=$(EVENT) ENV=$(ENV) FNENV="$(FNENV)" scripts/with-stack.sh scripts/invoke-local.sh

audit-parameters: setup ## Run the parameter-hygiene audit of /<APP_PREFIX>/<ENV>/ on the local stack and print its findings
	cargo build --locked -p parameter-notifier
	@FN=parameter-notifier EVENT=events/parameter-notifier/audit.json ENV=$(ENV) \
		FNENV="PARAMETER_PREFIX=/$(APP_PREFIX) AUDIT_PATH=/$(APP_PREFIX)/$(ENV)/ AUDIT_STATE_PARAMETER=/config-keeper/$(APP_PREFIX)-$(ENV)/parameter-audit $(FNENV)" \
		scripts/with-stack.sh scripts/invoke-local.sh | python3 scripts/audit_report.py

SECRET       ?= my-app/dev/db-credentials
rotate: setup ## Rotate SECRET on the local stack with the built function, as Secrets Manager would
	cargo build --locked -p secret-rotation --bin secret-rotation
	@scripts/with-stack.sh scripts/rotate-local.sh "$(SECRET)"

doctor: setup ## The rotation doctor's report on SECRET, with the built function on the local stack
	cargo build --locked -p secret-rotation --bin secret-rotation
	@scripts/with-stack.sh scripts/doctor-local.sh "$(SECRET)"

doctor-deployed: ## The deployed rotation function's doctor report on SECRET (ENV, APP_PREFIX), as a table
	@scripts/doctor.py deployed --function "$(APP_PREFIX)-$(ENV)-secret-rotation" --secret "$(SECRET)"

WATCH_PORT   ?= 9000
export WATCH_PORT
watch: setup ## cargo lambda watch over the five functions on the local stack (ENV, WATCH_PORT); invoke with make invoke-watch
	@KEEP_STACK=1 scripts/with-stack.sh scripts/watch.sh

invoke-watch: ## Send EVENT to FN under `make watch` (cargo lambda invoke --data-file)
	cargo lambda invoke $(FN) --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --data-file $(EVENT)

# Deployment (scripts/deploy.sh): to the account of the current AWS credentials, or with LOCAL=1 to
# the local stack (started when needed, and left running). STACK defaults to <APP_PREFIX>-<ENV>;
# PARAMS="Key=Value Key='Value with spaces' ..." passes more template parameters (shell-quoted).
APP_PREFIX   ?= my-app
STACK        ?= $(APP_PREFIX)-$(ENV)
export ENV APP_PREFIX STACK PARAMS NAME VALUE FN EVENT SINCE FOLLOW
DEPLOY       = $(if $(LOCAL),KEEP_STACK=1 scripts/with-stack.sh )scripts/deploy.sh

package: setup ## Upload the functions' zips (make build) and write their code location for deploy
	@$(DEPLOY) package

deploy: setup ## Package, then create or update STACK for ENV (aws cloudformation deploy; LOCAL=1: the local stack)
	@$(DEPLOY) deploy

outputs: ## Print STACK's outputs (function, topic, key and secret ARNs)
	@$(DEPLOY) outputs

destroy: ## Delete STACK (the KMS key and the database secret are retained)
	@$(DEPLOY) destroy

logs: ## Print the deployed FN's logs (SINCE=30m; FOLLOW=1 keeps following)
	@$(DEPLOY) logs

invoke-deployed: ## Invoke the deployed FN with EVENT and print its answer
	@$(DEPLOY) invoke

put-secure-parameter: ## Put /<prefix>/<env>/NAME as a SecureString under the stack's key (value from VALUE or a prompt)
	@$(DEPLOY) put-secure-parameter

put-policy-parameter: ## The same, advanced tier, with Expiration, ExpirationNotification and NoChangeNotification policies
	@$(DEPLOY) put-policy-parameter

clean: stack-down ## Stop the stack and remove build output
	cargo clean
