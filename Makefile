# One task runner for people and CI. `make test` is the README's test command; .ci/run calls it.
CARGO ?= cargo

.PHONY: test lint fmt-check unit clients moto-gate moto-baseline run bench rules-md

## Everything CI checks: formatting, lints, every test, then the moto gate.
test: fmt-check lint unit clients moto-gate

fmt-check:
	$(CARGO) fmt --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Unit, integration and doc tests (the crate docs' examples run too; --doc cannot be mixed
## with the other target filters, and there are no examples or benches to leave out).
unit:
	$(CARGO) test --locked

## boto3 and the AWS CLI against the embedded endpoint (pytest from the moto venv).
clients:
	$(CARGO) build --locked
	scripts/client-tests

## Install and start the pinned moto, run the stored corpus against it, compare with snapshots/moto.
moto-gate:
	$(CARGO) build --locked
	scripts/moto-gate

## Rewrite snapshots/moto from a run against moto (review the diff in git).
moto-baseline:
	$(CARGO) build --locked
	scripts/moto-gate --update-baseline

## The main job: run generated cases against the embedded reference endpoint and report.
run:
	$(CARGO) run --locked --release -- run

## Generation plus prediction on one core (release build).
bench:
	$(CARGO) run --locked --release -- bench --seconds 5

## The rule table for the README, from the spec.
rules-md:
	@$(CARGO) run --quiet --locked -- rules --format markdown
