# styleforge — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= dev

.PHONY: venv demo test test-all bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: venv
	mkdir -p out
	$(BIN)/styleforge stylize tubingen --style starry_night -o out/demo.png --image-size 384 --iterations 100 --seed 0
	@echo "wrote out/demo.png"

test: venv
	$(BIN)/python -m pytest -q

test-all: venv
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) out .pytest_cache
