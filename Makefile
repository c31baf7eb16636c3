# Two entry points: `make demo` builds the demo corpus, `make test` runs the suite.
# Each sets up what is missing (Debian packages, .venv) and is a no-op for set-up otherwise.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium poppler-utils bubblewrap texlive-latex-base texlive-latex-extra texlive-pictures texlive-science cm-super fonts-dejavu-core fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system-deps bench lock clean

demo: setup
	$(VENV)/bin/vinci build manifests/demo.yaml --out out/demo

test: setup
	$(PY) -m pytest -q

setup: system-deps $(STAMP)

system-deps:
	@if ! command -v chromium >/dev/null || ! command -v pdflatex >/dev/null || ! command -v pdftoppm >/dev/null \
	   || ! command -v bwrap >/dev/null || ! kpsewhich mylatexformat.ltx >/dev/null 2>&1 \
	   || ! kpsewhich pgfplots.sty >/dev/null 2>&1 || ! kpsewhich standalone.cls >/dev/null 2>&1 \
	   || ! kpsewhich sfrm0900.pfb >/dev/null 2>&1 || ! kpsewhich siunitx.sty >/dev/null 2>&1; then \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

# Every package comes from requirements.lock (exact versions, sha256 hashes); vinci itself is installed
# editable on top without resolving anything, so a release of this morning changes nothing.
$(STAMP): requirements.lock pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# Refresh the lock from pyproject.toml, reinstall from it and run the suite.
lock:
	scripts/lock.sh

bench: setup
	$(PY) benchmarks/render_throughput.py

clean:
	rm -rf out .pytest_cache
