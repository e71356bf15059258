# One task runner for people and CI. `make test` is the README's test command; .ci/run calls it.
CARGO ?= cargo

.PHONY: test lint fmt-check unit run bench rules-md

## Everything CI checks: formatting, lints, then every test.
test: fmt-check lint unit

fmt-check:
	$(CARGO) fmt --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

unit:
	$(CARGO) test --locked

## The main job: run generated cases against the embedded reference endpoint and report.
run:
	$(CARGO) run --locked --release -- run

## Generation plus prediction on one core (release build).
bench:
	$(CARGO) run --locked --release -- bench --seconds 5

## The rule table for the README, from the spec.
rules-md:
	@$(CARGO) run --quiet --locked -- rules --format markdown
