"""The CLI: ``main(argv, assistant_factory)`` on the fakes (fast), the real models once per
entry point (slow: the console script and ``python -m``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gpt4all_rag.answering.prompts import NOT_FOUND_ANSWER
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.settings import Settings
from gpt4all_rag.settings_answering import DEFAULT_SCRIPTED_REPLY
from tests.helpers.cli import fakes, on_fakes
from tests.helpers.data import DATA, DOCS, DOCS_CHUNKS, DOCS_GOOD

SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))
INGEST_KEYS = {
    "added",
    "updated",
    "moved",
    "deleted",
    "unchanged",
    "failed",
    "skipped",
    "warnings",  # files indexed only in part (issue 21: damaged files)
    "chunks_added",
    "chunks_reused",
    "chunks_total",
    "pages",
    "seconds",
    "stages",
}
FAILED = ["binary.txt", "corrupt.pdf", "empty.txt", "encrypted.pdf"]
REACTOR = "Zorblax reactor core temperature kelvin"


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``main`` in process on the fakes: (exit code, stdout, stderr)."""

    def run(*argv: str, replies: tuple[str, ...] = ()) -> tuple[int, str, str]:
        code = main(list(argv), assistant_factory=fakes(*replies))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def indexed(tmp_path: Path, cli: Run) -> tuple[Path, Path]:
    shutil.copytree(DOCS, tmp_path / "docs")
    code, out, err = cli(
        "ingest", str(tmp_path / "docs"), "--index", str(tmp_path / "index"), "--json"
    )
    assert code == 1, err  # four bad files, the rest indexed
    summary = json.loads(out)
    assert set(summary) == INGEST_KEYS
    assert summary["added"] == DOCS_GOOD and summary["chunks_total"] == sum(DOCS_CHUNKS.values())
    assert [f["file"] for f in summary["failed"]] == FAILED
    return tmp_path / "docs", tmp_path / "index"


def test_ingest_text_summary_then_a_move_is_reused(tmp_path: Path, cli: Run) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("manual.pdf", "notes.md"):
        shutil.copy(DOCS / name, docs / name)
    code, out, _ = cli("ingest", str(docs), "--index", str(tmp_path / "index"))
    assert code == 0
    total = DOCS_CHUNKS["manual.pdf"] + DOCS_CHUNKS["notes.md"]
    assert out.splitlines()[0] == f"Index updated: 2 added ({total} chunks in total)."
    (docs / "notes.md").rename(docs / "bees.md")
    code, out, _ = cli("ingest", str(docs), "--index", str(tmp_path / "index"), "--json")
    second = json.loads(out)
    assert second["moved"] == [{"from": "notes.md", "to": "bees.md"}]
    assert (second["unchanged"], second["chunks_added"]) == (1, 0)


def test_status_json(indexed: tuple[Path, Path], cli: Run) -> None:
    code, out, _ = cli("status", "--index", str(indexed[1]), "--json")
    status = json.loads(out)
    assert code == 0 and (status["files"], status["chunks"], status["failed"]) == (
        8,
        sum(DOCS_CHUNKS.values()),
        4,
    )
    assert status["embedding_model"] == "hash-embedder" and status["size_bytes"] > 0


def test_search_json_and_text(indexed: tuple[Path, Path], cli: Run) -> None:
    index = str(indexed[1])
    code, out, err = cli(
        "search", REACTOR, "--k", "2", "--mode", "keyword", "--index", index, "--json"
    )
    assert code == 0, err
    results = json.loads(out)["results"]
    assert len(results) == 2 and set(results[0]) == {"file", "page", "text", "score"}
    assert (results[0]["file"], results[0]["page"]) == ("manual.pdf", 2)
    code, out, _ = cli("search", REACTOR, "--k", "1", "--mode", "keyword", "--index", index)
    assert out.startswith("[1] manual.pdf · page 2 (")


def test_ask_json_and_text(indexed: tuple[Path, Path], cli: Run) -> None:
    index = str(indexed[1])
    code, out, err = cli("ask", REACTOR, "--index", index, "--json", replies=("451 K [1].",))
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer) == {
        "answer",
        "found",
        "evidence",
        "sentences",
        "unsupported",
        "sources",
        "cited",
    }
    assert (answer["answer"], answer["cited"], answer["found"]) == ("451 K [1].", [1], True)
    assert (answer["sources"][0]["file"], answer["sources"][0]["page"]) == ("manual.pdf", 2)
    assert answer["evidence"] and {e["source"] for e in answer["evidence"]} <= {1, 2}
    assert "451 kelvin" in " ".join(e["text"] for e in answer["evidence"]).lower()
    code, out, _ = cli("ask", REACTOR, "--index", index)
    lines = out.splitlines()
    blank = lines.index("")
    assert lines[0] == "Evidence:" and all(line.startswith('  "') for line in lines[1:blank])
    assert lines[blank + 1].strip().startswith(DEFAULT_SCRIPTED_REPLY.split("[")[0].strip())
    assert "*[1] manual.pdf · page 2" in lines


def test_ask_with_nothing_found_prints_the_not_found_answer(
    indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ask", "quokka xylophone zeppelin", "--index", str(indexed[1])]
    assert main(argv, assistant_factory=fakes(floor=0.25)) == 0
    assert capsys.readouterr().out == NOT_FOUND_ANSWER + "\n"


def test_chat_keeps_history_for_follow_ups(
    indexed: tuple[Path, Path], cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["What is the Zorblax reactor core temperature?", "and in celsius?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    replies = ("451 kelvin [1].", "178 C [1].")  # a follow-up is not rewritten by the model
    code, out, _ = cli("chat", "--index", str(indexed[1]), replies=replies)
    assert code == 0
    assert "451 kelvin [1]." in out and "178 C [1]." in out


def test_usage_and_setup_errors_are_one_line(tmp_path: Path, cli: Run) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["frobnicate"])
    assert usage.value.code == 2
    code, _, err = cli("ingest", str(tmp_path / "nope"), "--index", str(tmp_path / "i2"))
    assert code == 2 and "nope" in err and "Traceback" not in err
    code, _, err = cli("reset", "--index", str(tmp_path / "i3"))
    assert code == 2 and "--yes" in err


def test_a_missing_model_is_a_usage_error(
    indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    def hash_and_llama(settings: Settings) -> DocumentAssistant:
        # the fakes' embedder and floor, and the model the command names (llama.cpp)
        return DocumentAssistant.from_settings(on_fakes(settings, llm_backend=settings.llm_backend))

    argv = ["ask", REACTOR, "--index", str(indexed[1]), "--model", "/no/such.gguf"]
    assert main(argv, assistant_factory=hash_and_llama) == 2
    assert capsys.readouterr().err == "gpt4all-rag: error: model file /no/such.gguf: no such file\n"


def test_reset_needs_yes(indexed: tuple[Path, Path], cli: Run) -> None:
    index = str(indexed[1])
    assert cli("reset", "--index", index)[0] == 2
    assert cli("reset", "--yes", "--index", index)[0] == 0
    assert json.loads(cli("status", "--index", index, "--json")[1])["chunks"] == 0


def test_document_text_reaches_the_terminal_without_control_characters(
    tmp_path: Path, cli: Run
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "trap.txt").write_text(
        "Zorblax reactor core \x1b[2J\x1b]0;owned\x07temperature kelvin\rhidden \u202egnp.exe",
        encoding="utf-8",
    )
    assert cli("ingest", str(docs), "--index", str(tmp_path / "index"))[0] == 0
    _, out, _ = cli("search", REACTOR, "--index", str(tmp_path / "index"))
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "Zorblax reactor core [2J]0;ownedtemperature kelvin\nhidden gnp.exe" in out
    _, out, _ = cli(
        "ask", REACTOR, "--index", str(tmp_path / "index"), replies=("a\x1b[31mb [1].",)
    )
    assert "\x1b" not in out and "a[31mb [1]." in out


def test_eval_on_a_tiny_beir_set(tmp_path: Path, cli: Run) -> None:
    beir = DATA / "beir"
    code, out, err = cli(
        "eval",
        "--corpus",
        str(beir / "corpus.jsonl"),
        "--queries",
        str(beir / "queries.jsonl"),
        "--qrels",
        str(beir / "qrels.tsv"),
        "--json",
        "--index",
        str(tmp_path / "unused"),
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["queries"] == 4 and result["corpus"]["documents"] == 8
    assert set(result["modes"]) == {"vector", "keyword", "hybrid"}
    assert result["modes"]["keyword"]["ndcg@10"] == 1.0
    for metrics in result["modes"].values():
        assert metrics["latency_p95_ms"] >= metrics["latency_p50_ms"] > 0


def test_the_console_script_runs_on_fakes_chosen_by_environment(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    env = os.environ | {
        "GPT4ALL_RAG_EMBEDDING_BACKEND": "hash",
        "GPT4ALL_RAG_LLM_BACKEND": "scripted",
        "GPT4ALL_RAG_SCRIPTED_REPLIES": '["451 kelvin [1]."]',
        "GPT4ALL_RAG_RELEVANCE_FLOOR": "0.1",
        "GPT4ALL_RAG_INDEX_DIR": str(tmp_path / "index"),
    }
    run = [SCRIPT, "ingest", str(tmp_path / "docs"), "--json"]
    assert subprocess.run(run, capture_output=True, env=env, timeout=300).returncode == 1
    ask = [SCRIPT, "ask", REACTOR, "--json"]
    result = subprocess.run(ask, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"] == "451 kelvin [1]."


# --- the real models, once per entry point ----------------------------------------


def _real(*args: str, command: tuple[str, ...] = (SCRIPT,)) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_console_script_ingests_and_answers_with_the_real_models(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    index = str(tmp_path / "index")
    ingest = _real("ingest", str(tmp_path / "docs"), "--index", index, "--json")
    assert ingest.returncode == 1, ingest.stderr
    assert json.loads(ingest.stdout)["chunks_total"] == sum(DOCS_CHUNKS.values())
    ask = _real("ask", "What is the core temperature of the Zorblax reactor?", "--index", index)
    assert ask.returncode == 0, ask.stderr
    assert "manual.pdf · page 2" in ask.stdout


@pytest.mark.slow
def test_python_dash_m_searches_with_the_real_embedder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS / "manual.pdf", docs / "manual.pdf")
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    module = (sys.executable, "-m", "gpt4all_rag")
    index = str(tmp_path / "index")
    assert _real("ingest", str(docs), "--index", index, command=module).returncode == 0
    search = _real(
        "search",
        "core temperature of the Zorblax reactor",
        "--k",
        "1",
        "--mode",
        "vector",
        "--index",
        index,
        "--json",
        command=module,
    )
    assert search.returncode == 0, search.stderr
    [hit] = json.loads(search.stdout)["results"]
    assert (hit["file"], hit["page"]) == ("manual.pdf", 2)


def test_another_folder_is_refused_unless_forced(indexed: tuple[Path, Path], cli: Run) -> None:
    docs, index = indexed
    elsewhere = docs.parent / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(DOCS / "notes.md", elsewhere / "notes.md")
    code, out, err = cli("ingest", str(elsewhere), "--index", str(index))
    assert code == 2 and str(elsewhere.resolve()) in err and str(docs.resolve()) in err
    code, out, _ = cli("status", "--index", str(index), "--json")
    assert json.loads(out)["files"] == len(DOCS_GOOD)  # nothing was deleted
    code, out, _ = cli("ingest", str(elsewhere), "--index", str(index), "--json", "--force")
    forced = json.loads(out)
    assert code == 0 and forced["deleted"] == [d for d in DOCS_GOOD if d != "notes.md"]
    assert (forced["unchanged"], forced["chunks_total"]) == (1, DOCS_CHUNKS["notes.md"])


def test_a_folder_of_other_files_is_never_used_as_an_index(tmp_path: Path, cli: Run) -> None:
    notes = tmp_path / "notes"
    (notes / "keywords").mkdir(parents=True)
    (notes / "keywords" / "mine.txt").write_text("a user's own file")
    shutil.copytree(DOCS, tmp_path / "docs")
    code, _, err = cli("ingest", str(tmp_path / "docs"), "--index", str(notes))
    assert code == 2 and str(notes) in err and "Traceback" not in err
    assert (notes / "keywords" / "mine.txt").read_text() == "a user's own file"
    code, _, err = cli("ingest", str(tmp_path / "docs"), "--index", str(tmp_path / "docs" / "ix"))
    assert code == 2 and not (tmp_path / "docs" / "ix").exists()


def test_status_shows_the_folder_and_model_the_index_was_built_with(
    indexed: tuple[Path, Path], cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, index = indexed
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs.parent / "elsewhere"))
    code, out, _ = cli("status", "--index", str(index), "--json")
    status = json.loads(out)
    assert code == 0 and status["documents_dir"] == str(docs.resolve())
    assert status["embedding_model"] == "hash-embedder"  # as recorded, whatever is configured
