# Everyday verbs. Everything runs inside .venv, which `make venv` builds from requirements.txt.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PORT    ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: venv run ingest app test test-fast test-slow lint check-offline bench bench-ingest bench-query bench-eval bench-server clean

venv: $(BIN)/.installed
$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	touch $@

## run: set up, index ./documents, open the app on http://127.0.0.1:$(PORT)
run: venv ingest app

ingest: venv
	$(BIN)/gpt4all-rag ingest documents || test $$? -eq 1

app: venv
	$(BIN)/streamlit run app.py --server.port $(PORT)

## test: both tiers (fast fakes, then the real models, servers and browser)
test: venv
	$(BIN)/python -m pytest -m "not slow" -q
	$(BIN)/python -m pytest -m slow -q

test-fast: venv
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: venv
	$(BIN)/python -m pytest -m slow -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

## check-offline: ingest, ask and search inside a network namespace with only loopback
check-offline: venv
	scripts/check_offline.sh

bench: bench-ingest bench-query bench-eval

bench-ingest: venv
	$(BIN)/python scripts/bench_ingest.py

bench-query: venv
	$(BIN)/python scripts/bench_query.py

bench-server: venv
	$(BIN)/python scripts/bench_server.py

bench-eval: venv
	mkdir -p bench-results
	$(BIN)/gpt4all-rag eval --corpus ../shared/bench/scifact-train/corpus.jsonl \
	  --queries ../shared/bench/scifact-train/queries.jsonl \
	  --qrels ../shared/bench/scifact-train/qrels/train.tsv --json | tee bench-results/eval.json

clean:
	rm -rf index artifacts bench-results .pytest_cache .mypy_cache .ruff_cache
