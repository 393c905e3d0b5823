# Two commands set up everything: `make lab` opens the course, `make test` runs every test.
# Both create .venv on first use and reinstall whenever pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.PHONY: venv lab test slides cache

venv: $(STAMP)

# The stamp is older than pyproject.toml after a dependency change, so the install reruns.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

# --allow-root only where the shell is root (containers); Jupyter refuses root without it.
lab: venv
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# Offline reveal.js decks of every notebook in slides/ (installs reveal.js from npm on first use).
slides: venv
	$(BIN)/python -m ticketlab slides

# Before a lecture: run every notebook once, headless, so that results/ holds every run and each
# cell loads in seconds in class. The same check as CI's; nothing in the notebooks is changed.
cache: venv
	$(BIN)/pytest --nbval-lax --nbval-current-env notebooks/

# Unit tests first (quick to fail), then the notebooks, then the science tests. On a fresh clone,
# as in CI, the notebooks start from an empty results/: CI times the cold run the course promises
# (all five in 10 minutes), and the science tests then load the notebooks' runs instead of
# training them a second time (run keys depend only on each run's own configuration).
test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not slow"
ifneq ($(NOTEBOOKS),)
	$(BIN)/pytest --nbval-lax --nbval-current-env --durations=10 notebooks/
endif
	$(BIN)/pytest -m slow
