# styleforge — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= dev
# PyTorch's CPU wheels: a plain `pip install torch` on Linux gets the multi-GB CUDA build. Override with
# another index (e.g. .../whl/cu128), or `TORCH_INDEX=` for pip's configured index (an offline mirror).
# When the index cannot be reached, torch comes from pip's configured index, with a message.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: venv browser redis serve-cluster demo test test-all lint docs bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	@if [ -n "$(TORCH_INDEX)" ] && $(BIN)/python -c "import sys, urllib.request as u; u.urlopen(sys.argv[1].rstrip('/') + '/torch/', timeout=10)" "$(TORCH_INDEX)" 2>/dev/null; then \
		echo "torch 2.13.0 from $(TORCH_INDEX)"; $(BIN)/pip install --quiet torch==2.13.0 --index-url "$(TORCH_INDEX)"; \
	else \
		echo "torch 2.13.0 from pip's configured index (TORCH_INDEX='$(TORCH_INDEX)' empty or unreachable)"; \
		$(BIN)/pip install --quiet torch==2.13.0; \
	fi
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

# ruff (a named rule set) and mypy (check_untyped_defs): configuration in pyproject.toml
lint: venv
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src
	$(BIN)/mypy src/styleforge

# the documentation site (MkDocs Material + mkdocstrings) into site/; --strict: a broken link or reference fails
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# redis-server for the job-queue tests (tests/service) and `make serve-cluster`: Debian's package, like Chromium.
redis:
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server) \
		|| { echo "redis-server not installed: the service tests will skip"; [ -z "$$CI" ]; }

# Redis, WORKERS workers and the page with the HTTP API at /v1 on this machine (docs/service.md); Ctrl-C stops all.
WORKERS ?= 2
serve-cluster: venv redis
	scripts/serve_cluster.sh $(WORKERS)

test: venv browser redis lint docs
	$(BIN)/python -m pytest -q

test-all: venv
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) out .pytest_cache site
