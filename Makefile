# styleforge — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= dev

.PHONY: venv browser demo test test-all bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	# face models (BlazeFace + face mesh) from the mediapipe 0.10.21 wheel → safetensors/ONNX cache; offline
	# afterwards. Without the registry only the face tests fail (CI) or skip, not the whole set-up.
	$(BIN)/styleforge weights fetch faces || echo "face models not fetched: run '$(BIN)/styleforge weights fetch faces' when online"
	touch $(STAMP)

demo: venv
	mkdir -p out
	$(BIN)/styleforge stylize tubingen --style starry_night -o out/demo.png --image-size 384 --seed 0
	@echo "wrote out/demo.png"

# Headless Chromium for the browser tests (tests/web): Debian's package, driven by Playwright
# (no `playwright install`). Needs root; elsewhere the browser tests skip (and fail when CI is set).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| { echo "chromium not installed: the browser tests will skip"; [ -z "$$CI" ]; }

test: venv browser
	$(BIN)/python -m pytest -q

test-all: venv
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) out .pytest_cache
