# Everyday verbs. Everything runs inside .venv, which `make venv` builds from requirements.txt.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PORT    ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: venv deps run ingest app test test-fast test-slow lint check-offline bench bench-ingest bench-query bench-eval bench-server bench-retrieval bench-answers bench-followups bench-finetune bench-cli bench-ocr bench-progress bench-watch bench-cluster clean

venv: $(BIN)/.installed
$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	# Byte-compiled once, so that no command compiles the project on its start, even where
	# PYTHONDONTWRITEBYTECODE is set (about 0.3 s of `gpt4all-rag search` on 2 cores).
	$(BIN)/python -m compileall -q gpt4all_rag ingest vectorstore app.py
	touch $@

## run: set up, index ./documents, serve the app on http://127.0.0.1:$(PORT) and print the link
## to open: it holds this launch's secret (GPT4ALL_RAG_APP_TOKEN, or a fresh one)
run: venv ingest app

ingest: venv
	$(BIN)/gpt4all-rag ingest documents || test $$? -eq 1

# Not `streamlit run`: the launcher adds the secret, the Host and Origin checks and the
# anti-framing headers (gpt4all_rag/ui/launch.py).
app: venv
	$(BIN)/python -m gpt4all_rag.ui.launch --port $(PORT)

## deps: what the tests need besides Python: Debian's chromium and chromium-driver (browser
## tests) and tesseract-ocr (OCR of scanned PDFs and images).
## Installed with apt-get when missing and run as root; otherwise says what to run, and fails.
BROWSER_PACKAGES := chromium chromium-driver
SYSTEM_PACKAGES := $(BROWSER_PACKAGES) tesseract-ocr
deps:
	@if { command -v chromium || command -v chromium-browser || command -v google-chrome; } \
	    >/dev/null && command -v chromedriver >/dev/null && command -v tesseract >/dev/null; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(SYSTEM_PACKAGES) (apt-get) for the browser and OCR tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	else \
	  echo "The browser and OCR tests need Chromium, its driver and Tesseract, and some are not installed." >&2; \
	  echo "On Debian or Ubuntu, run:  sudo apt-get install $(SYSTEM_PACKAGES)" >&2; \
	  echo "then run make test again." >&2; \
	  exit 1; \
	fi

## test: both tiers (fast fakes, then the real models, servers and browser)
test: venv deps
	$(BIN)/python -m pytest -m "not slow" -q
	$(BIN)/python -m pytest -m slow -q

test-fast: venv
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: venv
	$(BIN)/python -m pytest -m slow -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## check-offline: ingest, ask and search inside a network namespace with only loopback
check-offline: venv
	scripts/check_offline.sh

bench: bench-ingest bench-progress bench-query bench-eval bench-retrieval bench-answers bench-cli bench-ocr

BENCH_CORPUS ?= bench-data/r-doc-pdf/usr/share/R/doc/manual
SCIFACT      ?= ../shared/bench/scifact-train

## bench-ingest: the R manuals from Debian (fetched once); BENCH_CORPUS=DIR for another folder
bench-ingest: venv
	scripts/fetch_corpora.sh bench-data
	$(BIN)/python -m scripts.bench_ingest --corpus $(BENCH_CORPUS)

## bench-progress: `gpt4all-rag ingest` of the nine R manuals in a terminal: ETA, wall, peak RSS
bench-progress: venv
	scripts/fetch_corpora.sh bench-data
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_progress --corpus $(BENCH_CORPUS) --out bench-results/progress.json

## bench-watch: `gpt4all-rag watch` on a real folder: a dropped 113-page PDF, a delete, 1,000 files
## at once, a slow writer, kill -9 and restart, idle CPU (docs/watch.md)
bench-watch: venv
	scripts/fetch_corpora.sh bench-data
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_watch --corpus $(BENCH_CORPUS) --out bench-results/watch.json

## bench-query: over the SciFact index that bench-eval keeps (16,012 chunks)
bench-query: venv
	test -d bench-data/scifact-eval/index || $(MAKE) bench-eval
	$(BIN)/python -m scripts.bench_query --index bench-data/scifact-eval/index

## bench-server: three R manuals (843 chunks) into the embedded store and a `chroma run`
## server, one and two writers, and search while another process ingests
SERVER_CORPUS ?= bench-data/r-3
R_MANUALS := bench-data/r-doc-pdf/usr/share/R/doc/manual
bench-server: venv
	test -d $(SERVER_CORPUS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(SERVER_CORPUS) \
	  && cp $(R_MANUALS)/R-FAQ.pdf $(R_MANUALS)/R-data.pdf $(R_MANUALS)/R-intro.pdf $(SERVER_CORPUS)/; }
	$(BIN)/python -m scripts.bench_server --corpus $(SERVER_CORPUS)

## bench-cluster: four R manuals (243 pages) on a local Ray cluster on loopback (run as root: a
## network namespace): 1 and 2 worker processes, Ray over the local ingest, the write ceiling
bench-cluster: venv
	scripts/fetch_corpora.sh bench-data
	$(BIN)/python -m scripts.bench_cluster --corpus $(R_MANUALS) --out bench-results/cluster.json

## bench-answers: the R-manual dev set (tests/data/rdev: 57 answerable, 39 out-of-scope questions
## over R-exts, R-lang, R-ints) through DocumentAssistant: evidence, citations, loops, abstention
RDEV_DOCS ?= bench-data/rdev-docs
bench-answers: venv
	test -d $(RDEV_DOCS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(RDEV_DOCS) \
	  && cp $(R_MANUALS)/R-exts.pdf $(R_MANUALS)/R-lang.pdf $(R_MANUALS)/R-ints.pdf $(RDEV_DOCS)/; }
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_answers --docs $(RDEV_DOCS) --index bench-data/rdev-index \
	  --out bench-results/answers.json

## bench-finetune: a LoRA of the bundled model trained on four other R manuals (R-intro, R-data,
## R-admin, R-FAQ), then the dev set with and without it, in one run (docs/finetune.md)
FT_DOCS ?= bench-data/ft-train-docs
bench-finetune: venv
	test -d $(RDEV_DOCS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(RDEV_DOCS) \
	  && cp $(R_MANUALS)/R-exts.pdf $(R_MANUALS)/R-lang.pdf $(R_MANUALS)/R-ints.pdf $(RDEV_DOCS)/; }
	test -d $(FT_DOCS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(FT_DOCS) \
	  && cp $(R_MANUALS)/R-intro.pdf $(R_MANUALS)/R-data.pdf $(R_MANUALS)/R-admin.pdf \
	  $(R_MANUALS)/R-FAQ.pdf $(FT_DOCS)/; }
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_finetune --train-docs $(FT_DOCS) --train-index bench-data/ft-train-index \
	  --dev-docs $(RDEV_DOCS) --dev-index bench-data/rdev-index --out bench-results/finetune.json

## bench-followups: second turns of the mixed conversations (tests/data/rdev/conversations.jsonl):
## follow-ups, new questions and out-of-scope ones after a first turn, against the same asked alone
bench-followups: venv
	test -d $(RDEV_DOCS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(RDEV_DOCS) \
	  && cp $(R_MANUALS)/R-exts.pdf $(R_MANUALS)/R-lang.pdf $(R_MANUALS)/R-ints.pdf $(RDEV_DOCS)/; }
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_followups --docs $(RDEV_DOCS) --index bench-data/rdev-index \
	  --label after --out bench-results/followups.json

## bench-retrieval: the retrieval levers (fusion variants) on the R dev set and SciFact train
bench-retrieval: venv
	test -d $(RDEV_DOCS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(RDEV_DOCS) \
	  && cp $(R_MANUALS)/R-exts.pdf $(R_MANUALS)/R-lang.pdf $(R_MANUALS)/R-ints.pdf $(RDEV_DOCS)/; }
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench_retrieval rdev --docs $(RDEV_DOCS) --index bench-data/rdev-index \
	  --out bench-results/retrieval-dev.json
	$(BIN)/python -m scripts.bench_retrieval beir --data $(SCIFACT) --index bench-data/scifact-levers \
	  --out bench-results/retrieval-sci.json

## bench-cli: wall time of `gpt4all-rag search` and `status` in fresh processes (4 R manuals)
CLI_CORPUS ?= bench-data/r-4
bench-cli: venv
	test -d $(CLI_CORPUS) || { scripts/fetch_corpora.sh bench-data && mkdir -p $(CLI_CORPUS) \
	  && cp $(R_MANUALS)/R-FAQ.pdf $(R_MANUALS)/R-intro.pdf $(R_MANUALS)/R-data.pdf \
	  $(R_MANUALS)/R-admin.pdf $(CLI_CORPUS)/; }
	$(BIN)/python -m scripts.bench_cli --index bench-data/cli-r4/index --build-from $(CLI_CORPUS)

## bench-ocr: Tesseract's character error rate and pages/s on 20 rendered R-manual pages
bench-ocr: venv deps
	scripts/fetch_corpora.sh bench-data
	$(BIN)/python -m scripts.bench_ocr --pages 20

bench-eval: venv
	mkdir -p bench-results
	$(BIN)/gpt4all-rag eval --corpus $(SCIFACT)/corpus.jsonl --queries $(SCIFACT)/queries.jsonl \
	  --qrels $(SCIFACT)/qrels/train.tsv --work-dir bench-data/scifact-eval --json \
	  | tee bench-results/eval.json

clean:
	rm -rf index artifacts bench-results .pytest_cache .mypy_cache .ruff_cache
