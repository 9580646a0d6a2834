# memwall: two commands set everything up on a fresh machine.
#   make figures   create .venv if missing (pinned), execute every notebook, write figures/
#   make test      create .venv if missing (pinned), run the whole test suite
# Also: make lab, make clean, make one NB=notebooks/01_hardware_scaling.ipynb

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.memwall-installed
KERNEL := memwall
export PYTHONHASHSEED := 0

.PHONY: figures test lab clean one venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (memwall)" >/dev/null
	@touch $(STAMP)

figures: $(STAMP)
	$(PY) -m memwall_lib.notebooks --all

one: $(STAMP)
	$(PY) -m memwall_lib.notebooks $(NB)

test: $(STAMP)
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
