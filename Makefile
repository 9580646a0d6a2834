# memwall: two commands set everything up on a fresh machine.
#   make figures   create .venv if missing (pinned), regenerate the figures whose inputs changed
#   make test      create .venv if missing (pinned), lint (make lint), run the whole test suite
# Also: make lab, make clean, make one NB=notebooks/01_hardware_scaling.ipynb [ARGS="-p output_dir build/mine"]
#
# `make figures` knows what each figure depends on (its notebook, the data files its module
# reads and every library module it imports: build/figures.mk, written by
# `python -m memwall_lib.run.deps`) and reruns only the notebooks whose inputs changed.
# Data-only notebooks run in parallel (two jobs by default); the notebooks that time things run
# one at a time after all the others, so their timings stay clean. `make figures-all`
# reruns every notebook.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.memwall-installed
KERNEL := memwall
STAMPS := build/stamps
DEPS   := build/figures.mk
LIBRARY := $(shell find memwall_lib -name '*.py' 2>/dev/null)
# `make lab` as root (the usual case in a container) needs --allow-root; add your own options
# with LAB_ARGS (e.g. LAB_ARGS="--ip=0.0.0.0 --no-browser"): they come on top of it.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
export PYTHONHASHSEED := 0
# Two jobs: the data-only notebooks run side by side (the timed ones still run alone, last).
# Output is live, never held back until a recipe ends (no --output-sync): every line of the
# notebook runner starts with its notebook's name, so two notebooks' lines stay readable, and
# `make lab` prints its URL while the server runs. `make -j1 figures` runs one at a time.
# Only the top-level make sets it: a sub-make (figures-all runs `make figures`) shares its jobserver.
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += --jobs=2
endif

.PHONY: figures figures-all test lint lab clean one venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned environment into $(VENV) (a few minutes on a fresh machine)..."
	$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	$(PY) -m pip install --progress-bar off -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (memwall)" >/dev/null
	@touch $(STAMP)

$(DEPS): $(LIBRARY) $(STAMP)
	@mkdir -p $(dir $@)
	@$(PY) -m memwall_lib.run.deps $(STAMPS) > $@.tmp && mv $@.tmp $@

ifneq ($(filter figures,$(MAKECMDGOALS)),)
include $(DEPS)
endif

figures: figures/claims.md

figures/claims.md: $(foreach nb,$(NOTEBOOKS),$(STAMPS)/$(nb))
	$(PY) -m memwall_lib --summary-only

.SECONDEXPANSION:
$(STAMPS)/%: $$(DEPS_$$*) $(STAMP)
	@mkdir -p $(STAMPS)
	$(PY) -m memwall_lib notebooks/$*.ipynb --no-summary
	@touch $@

figures-all: $(STAMP)
	rm -rf $(STAMPS)
	$(MAKE) figures

# ARGS: the runner's options, e.g. ARGS="-p output_dir build/mine --no-summary"
ARGS ?=
one: $(STAMP)
	$(PY) -m memwall_lib $(NB) $(ARGS)

# Lint: ruff (rules chosen in pyproject.toml), the formatter's check, mypy on memwall_lib, and the
# schemas of the CI workflow and CITATION.cff (check-jsonschema's vendored copies: no network).
LINTED := memwall_lib tests benchmarks notebooks
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff

test: lint
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_ROOT) $(LAB_ARGS) notebooks/

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
	find figures data -name '.*.tmp' -delete
