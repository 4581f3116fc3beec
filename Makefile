# Kongpan: the two commands a person needs.
#   make run    the app on http://127.0.0.1:8501 (creates .venv on first use;
#               another port: make run PORT=8600)
#   make test   lint + the whole pytest suite, browser tests included
# Needs only python3 (>= 3.11, with venv) on a Debian-like machine; `make test`
# also installs Debian's chromium and a Chinese font through apt-get once.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test lint format bench clean-venv

PORT ?= 8501

run: $(VENV)/.stamp-run
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.stamp-dev
	scripts/install-test-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.stamp-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The import benchmark of DESIGN.md section 7 (about a minute; see bench/README.md).
bench: $(VENV)/.stamp-dev bench/out/deals_100k.xlsx
	$(BIN)/python bench/bench_import.py bench/out/deals_100k.xlsx

bench/out/deals_100k.xlsx: bench/make_big_xlsx.py | $(VENV)/.stamp-dev
	$(BIN)/python bench/make_big_xlsx.py $@ --rows 100000

# The virtual environment, created once; a half-made one is removed.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# Stamps: reinstall only when a requirements file is newer than its stamp.
$(VENV)/.stamp-run: requirements.txt | $(BIN)/python
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.stamp-run

clean-venv:
	rm -rf $(VENV)
