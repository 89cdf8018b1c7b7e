# The README's two commands. Everything they need is installed here, nothing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8501
# OpenMP threads wait passively: spin-waiting starves scikit-learn fits on a small shared machine.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: run test lint bench venv test-deps browser clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m streamlit run streamlit_app.py --server.address $(HOST) --server.port $(PORT)

# Debian's chromium drives the browser journeys; never `playwright install` (no downloads here).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing Debian chromium + chromium-driver for the browser tests"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "chromium not found and not root: browser journeys will be skipped"; \
		fi; \
	fi

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

test: $(VENV)/.test-installed browser lint
	$(PY) -m pytest

# The load and upload benchmarks drive chromium with Playwright (a test requirement).
bench: $(VENV)/.test-installed browser
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
