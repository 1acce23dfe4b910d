# mb3d: `make demo` runs the square pillar cell, `make test` runs the test suite, `make docs` builds
# the documentation site into site/. All create .venv (Python 3.11+) and install mb3d with its
# dependencies first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
DOCS_STAMP = $(VENV)/.installed-docs

.PHONY: demo test test-fast docs check-wheel bench images clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@bash .ci/sysdeps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mb3d run cases/interdigitated_pillars_square.yaml

test: $(STAMP)
	@bash .ci/sysdeps.sh browser
	$(BIN)/python -m pytest -q

# the wheel in a fresh venv outside the repository: mb3d examples, then mb3d run (tests/test_wheel.py)
check-wheel: $(STAMP)
	$(BIN)/python -m pytest -q -m packaging tests/test_wheel.py

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# the docs extra (mkdocs, mkdocs-material, mkdocstrings); --strict: every warning is an error
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[docs]'
	@touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python bench/bench_unit_cell.py
	$(BIN)/python bench/bench_trench_deep.py
	$(BIN)/python bench/bench_unit_cell_wall.py
	$(BIN)/python bench/bench_scaling.py
	$(BIN)/python bench/bench_doe.py
	$(BIN)/python bench/bench_transient.py --sweep
	$(BIN)/python bench/bench_sponge.py
	$(BIN)/pip install -q -e .[bench] && $(BIN)/python bench/bench_ngsolve.py

images: $(STAMP)
	$(BIN)/python docs/make_images.py

clean:
	rm -rf $(VENV) out site .pytest_cache *.egg-info
