# Every target brings .venv up to date first, so `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= .aquarium

.PHONY: venv run test check fmt lint typecheck bench bench-moonshot clean openapi fuzz

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/aquarium serve --data-dir $(DATA_DIR)

# .ci/prepare first: PostgreSQL up, gpg and Debian's chromium installed when missing and
# possible (silent when everything is there), so a fresh machine needs nothing else.
# The browser tier runs in a process of its own: Playwright's sync API keeps an event loop
# running in its process, which would break later tests that call asyncio.run().
test: $(STAMP)
	@.ci/prepare
	$(BIN)/python -m pytest -n 2 --dist loadgroup --ignore=tests/browser
	$(BIN)/python -m pytest -p no:xdist tests/browser

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src benchmarks

check: lint typecheck test

# The fuzz tier for a time budget (FUZZ_SECONDS, default 10 minutes), randomised (FUZZ_SEED to
# repeat a run); figures printed and written to $(FUZZ_DIR)/summary.json. `make test` runs the
# same tier bounded and seeded (tests/fuzz).
FUZZ_SECONDS ?= 600
FUZZ_DIR ?= .fuzz
fuzz: $(STAMP)
	PYTHONPATH=src $(BIN)/python -m tests.fuzz.campaign --seconds $(FUZZ_SECONDS) --out $(FUZZ_DIR) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

# Every benchmark but the moonshot (docs/benchmarks.md); one by name:
# `$(BIN)/python -m benchmarks aqua`. The moonshot (100 million rows, hours, and the disk it
# states before it starts) runs only when asked: `make bench-moonshot`
# (AQUARIUM_MOONSHOT_SCALE, default 1000; AQUARIUM_BENCH_SCALE, its baseline, default 50).
bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-moonshot: $(STAMP)
	$(BIN)/python -m benchmarks moonshot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .fuzz

openapi: $(STAMP)
	$(BIN)/python -m aquarium.api.openapi openapi.json
