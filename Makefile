# The README's two commands are `make run` and `make test`; the rest serve them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-slow lint install prod bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded default: SQLite in var/, in-process queue, e-mails as .eml files in var/mail.
run: $(STAMP)
	$(BIN)/flask --app app directory import demo/members.csv
	$(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

# The production layout on one machine (Procfile): PostgreSQL and Redis from the environment,
# e.g. ACCOUNTS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/accounts
#      ACCOUNTS_REDIS_URL=redis://127.0.0.1:6379/0 ACCOUNTS_MAIL_URL=smtp://127.0.0.1:25
prod: $(STAMP)
	@test -n "$$ACCOUNTS_DATABASE_URL" -a -n "$$ACCOUNTS_REDIS_URL" || \
		{ echo "make prod needs ACCOUNTS_DATABASE_URL (postgresql://...) and ACCOUNTS_REDIS_URL"; exit 2; }
	$(BIN)/flask --app app directory import $${DIRECTORY_CSV:-demo/members.csv}
	rm -rf var/metrics && mkdir -p var/metrics
	PATH="$(CURDIR)/$(BIN):$$PATH" PROMETHEUS_MULTIPROC_DIR="$(CURDIR)/var/metrics" \
		$(BIN)/honcho start -f Procfile

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -m "not slow" -n 2

# The use cases in memory and the pure rules: seconds, no server needed.
test-fast: $(STAMP)
	$(BIN)/pytest -q tests/use_cases tests/unit

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# Issue 8's figures beside their limits, on the machine's PostgreSQL and Redis, load from wrk
# (Debian's): bench/results/latest.md. About 8 minutes, plus about 6 the first time, which
# generates a million accounts into the database bench_accounts_1m and keeps it.
bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.profile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
