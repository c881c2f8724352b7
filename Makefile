# Anima: two commands on a fresh machine.
#   make demo   prompt -> animated MakeHuman character: out/demo.blend + out/demo.png
#   make test   the test suite (real Blender via the bpy module, real torch)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
PROMPT ?= a person walks forward and waves
PYTEST_ARGS ?=

.PHONY: demo test test-all venv library bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

demo: venv
	mkdir -p out
	$(PY) tools/demo.py --prompt "$(PROMPT)" --out out

test: venv
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) tests

test-all: venv
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

# Rebuild the shipped CMU library (assets/library) and the local non-commercial libraries
# (Bandai-Namco, DeepMimic) from ../shared/data.
library: venv
	$(PY) -m backend import --shared ../shared/data

bench: venv
	$(PY) -m backend bench retarget

clean:
	rm -rf out .pytest_cache
