# One task runner for people and CI. `make test` is the README's test command; .ci/run calls it.
CARGO ?= cargo

.PHONY: test lint fmt-check unit clients browser screenshot emitted gates moto-gate moto-baseline baselines matrix print-gates run bench rules-md
.PHONY: bench-compare bench-smoke release install

## The emulators gated against their baselines (targets/NAME.toml, snapshots/NAME).
GATES := embedded moto moto-ext localstack
BIN := target/debug/copyimage-conformance

## Everything CI checks: formatting, lints, every test, the real clients against serve, the
## HTML reports in a real browser, the emitted pytest files (fail on moto, pass on serve),
## every emulator's gate, then a short run of the benchmark suite so that it cannot rot.
test: fmt-check lint unit clients browser emitted gates bench-smoke

fmt-check:
	$(CARGO) fmt --check

## Clippy, and rustdoc with its warnings as errors (a link to a renamed item, or from public
## docs to a private one), for the private items' docs too.
lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps --document-private-items

## Unit, integration and doc tests (the crate docs' examples run too; --doc cannot be mixed
## with the other target filters; there are no examples, and `cargo test` leaves the
## criterion benches under benches/ out: clippy --all-targets checks they build).
unit:
	$(CARGO) test --locked

## boto3 and the AWS CLI against the embedded endpoint (pytest from the moto venv).
clients:
	$(CARGO) build --locked
	scripts/client-tests

## The HTML reports (a run against a mutant, a hostile server's, the matrix) loaded in headless
## Chromium and checked as a person sees them; installs Debian's chromium if it is missing.
browser:
	$(CARGO) build --locked
	scripts/browser-test

## The README's screenshot of the HTML report, docs/report.png (review it in git).
screenshot:
	$(CARGO) build --locked
	scripts/browser-test --screenshot docs/report.png

## `run --emit-tests` against moto; each emitted pytest file must fail on moto and pass on serve.
emitted:
	$(CARGO) build --locked
	scripts/emitted-tests

## Every gate in turn: install and start the pinned emulator, run its stored corpus against it,
## compare with its baseline, stop it. Each prints `gate NAME: passed|failed`; all run even when
## one fails, and the target fails if any did.
gates:
	$(CARGO) build --locked
	@status=0; for g in $(GATES); do $(BIN) targets gate $$g || status=1; done; exit $$status

## One gate: `make gate-moto-ext`.
gate-%:
	$(CARGO) build --locked
	$(BIN) targets gate $*

## The moto gate alone (scripts/moto-gate).
moto-gate:
	$(CARGO) build --locked
	scripts/moto-gate

## Rewrite snapshots/moto from a run against moto (review the diff in git).
moto-baseline:
	$(CARGO) build --locked
	scripts/moto-gate --update-baseline

## Rewrite every gated baseline from fresh servers, then the README's matrix (review in git).
baselines:
	$(CARGO) build --locked
	@status=0; for g in $(GATES); do $(BIN) targets gate $$g -- --update-baseline || status=1; done; \
	$(BIN) matrix --update README.md; exit $$status

## The gated targets' names, for .ci/run.
print-gates:
	@echo $(GATES)

## The README's conformance matrix, from the committed baselines.
matrix:
	$(CARGO) build --locked
	$(BIN) matrix --update README.md

## The main job: run generated cases against the embedded reference endpoint and report.
run:
	$(CARGO) run --locked --release -- run

## The release binary built with profile-guided optimisation (scripts/pgo-build: a counting
## build, a training run of it, the build that uses the counts; about 10 minutes on 2 cores the
## first time): target/pgo/release/copyimage-conformance, the binary bench/compare measures.
release:
	scripts/pgo-build

## That binary, installed in cargo's bin folder (~/.cargo/bin), where `cargo install` puts it.
install:
	@bin=$$(scripts/pgo-build) && dest="$${CARGO_HOME:-$$HOME/.cargo}/bin" && \
	install -D -m 755 "$$bin" "$$dest/copyimage-conformance" && echo "installed $$dest/copyimage-conformance"

## Generation plus prediction on one core (release build).
bench:
	$(CARGO) run --locked --release -- bench --seconds 5

## The benchmark suite (bench/compare): installs wrk and moto, builds release, measures the
## harness against wrk on serve and on moto, memory, bench and stateful runs, prints the table.
## `bench/compare --write` also rewrites BENCHMARKS.md and the README's headline.
bench-compare:
	bench/compare

## One short repetition of every measurement on the debug build (under a minute once wrk and
## moto are installed), and of bench/why_turns.py's and bench/why_split.py's: proves they still
## run; their figures are not written anywhere.
bench-smoke:
	bench/compare --quick
	bin=$$(scripts/pgo-build --dev --or-plain) && python3 bench/why_turns.py "$$bin" --quick && \
	python3 bench/why_split.py "$$bin" --quick

## The rule table for the README, from the spec.
rules-md:
	@$(CARGO) run --quiet --locked -- rules --format markdown
