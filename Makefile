# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# bubblewrap is the sandbox; without it the runner falls back to a dropped uid and says so.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null 2>&1 || \
		echo "bubblewrap not installed: trials run with the weaker fallback isolation"; }

demo: $(STAMP) sandbox
	$(BIN)/gome solve spaceship-titanic --minutes 10

test: $(STAMP) sandbox
	$(BIN)/ruff check gome baselines omega tests benchmarks
	$(BIN)/ruff format --check gome baselines omega tests benchmarks
	$(BIN)/pytest -q --durations=15

lint: $(STAMP)
	$(BIN)/ruff check gome baselines omega tests benchmarks
	$(BIN)/ruff format --check gome baselines omega tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format gome baselines omega tests benchmarks
	$(BIN)/ruff check --fix gome baselines omega tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
