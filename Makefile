# Anima: two commands on a fresh machine.
#   make demo   prompt -> animated MakeHuman character: out/demo.blend + out/demo.png
#   make test   the test suite (real Blender via the bpy module, real torch) on Blender 5.0,
#               then the register / action-writing / apply tests on Blender 4.2 LTS and 4.5 LTS
#               (their venvs, .cache/venv-bpy42 and .cache/venv-bpy45, are created when missing)
#   make test-matrix   every Blender test on 4.2 LTS, 4.5 LTS and 5.0 (docs/blender_versions.md)
#   make story-demo    an example story in its scene: out/story.blend, out/story.png (contact
#               sheet) and out/story_top.png (top view with the path); STORY=<example .json>
#   make camera-demo   a drone-style camera films that story: out/camera.blend, out/camera.png;
#               SHOT=orbit|reveal|fly_through|follow|fly_by|crane|dronie|top_down|surprise
#   make package       the installable extension zip: dist/anima-<version>.zip (docs/install.md)
#   make fuzz          the protocol, parameter and file fuzzers with their case counts
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
PROMPT ?= a person walks forward and waves
STORY ?= assets/stories/01_tired_evening.json
SHOT ?= follow
PYTEST_ARGS ?=
# Older Blender releases `make test` also checks (tools/test_matrix.sh --compat); empty: none.
COMPAT_BLENDER ?= 4.2 4.5

.PHONY: demo story-demo camera-demo test test-all test-matrix venv library bench clean package fuzz

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

story-demo: venv
	mkdir -p out
	$(PY) tools/story_demo.py --story "$(STORY)" --out out

camera-demo: venv
	mkdir -p out
	$(PY) tools/camera_demo.py --story "$(STORY)" --shot "$(SHOT)" --out out

# The full run first (its pytest closing line is the one CI reads), then the older releases;
# fails if either fails.
test: venv
	@status=0; \
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) tests || status=$$?; \
	if [ -n "$(strip $(COMPAT_BLENDER))" ]; then \
	    PYTHON=$(PYTHON) VENV=$(VENV) bash tools/test_matrix.sh --compat $(COMPAT_BLENDER) || status=1; \
	fi; \
	exit $$status

test-matrix: venv
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/test_matrix.sh

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

# The installable extension zip, dist/anima-<version>.zip (docs/install.md, tools/package.py).
# Refuses files git does not track: PACKAGE_ARGS=--allow-untracked for a local build. The venv's
# python, when there is one, imports every packed backend module and checks the manifest's tags.
package:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) tools/package.py --out dist/ $(PACKAGE_ARGS)

# The fuzzers alone, with their case counts (they also run in `make test`).
fuzz: venv
	$(PY) -m pytest -q -s tests/test_fuzz_protocol.py tests/test_fuzz_params.py tests/test_fuzz_files.py
