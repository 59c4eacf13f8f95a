# Two commands on a fresh machine: `make sim` runs the stack closed loop in the embedded
# simulator; `make test` runs the tests. Both build .venv from requirements.txt when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ROBOVAN := $(VENV)/bin/robovan
SCENARIO ?= delivery_loop
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST

.PHONY: venv sim test lint format eval bench docs clean

$(VENV)/.installed: requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

sim: venv
	$(ROBOVAN) sim --scenario $(SCENARIO) --out runs/latest

test: lint
	$(PY) -m pytest test

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

eval: venv
	$(ROBOVAN) eval --out runs/eval --status docs/STATUS.md

bench: venv
	$(ROBOVAN) bench all --json runs/bench.json

docs: venv
	$(ROBOVAN) params --markdown > docs/PARAMETERS.md
	$(ROBOVAN) protocol > docs/RVN_DBW.md

clean:
	rm -rf $(VENV) runs build install log *.egg-info
