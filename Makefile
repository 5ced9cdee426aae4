# baff_ros developer entry points. Every target creates .venv/ on first use.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
TORCH_PIN := torch==2.13.0

.PHONY: venv demo test test-all lint bench clean

$(VENV)/.installed: setup.py setup.cfg
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The torch pin goes first: with it installed, nothing below can pull another torch build.
	$(PIP) install -q $(TORCH_PIN)
	$(PIP) install -q -e '.[all,dev]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/baff-ros demo

# scripts/test.sh: with ROS 2 (installed from ../shared/ros2 where present, or already
# sourced), the suite runs in a sourced ROS 2 environment; see its header.
test: venv
	bash scripts/test.sh

test-all: venv
	bash scripts/test.sh -m 'slow or not slow'

lint: venv
	$(VPY) -m pytest -q -m linter

bench: venv
	$(VENV)/bin/baff-ros bench --json bench.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
