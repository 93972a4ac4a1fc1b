"""The bundled model as a grounding judge, on its own labelled sentences (issue 25, item 2).

Usage:
    python -m scripts.judge_grounding [--labels tests/data/rdev/grounding_labels.jsonl]
        [--model FILE] [--out bench-results/judge_grounding.json]

Lever "any local model that fits (the bundled one as a judge, scoring by
log-probabilities)". For every labelled claim (``correct`` or ``wrong``; the
``not_a_claim`` sentences are not scored) and its cited passages, the GGUF model
(default: the bundled SmolLM2-135M) gives two scores, from one forward pass each:

- ``yes_no``: asked "Is the statement true according to the passage?", the
  log-odds of " Yes" over " No" as its next token;
- ``pmi``: the mean log-probability of the statement's tokens after the passage,
  minus the same without the passage (how much the passage makes the statement
  likelier: a sentence the passage does not support gains little).

Prints, per score: how well it separates correct from wrong claims (AUC: the chance
that a random correct claim scores above a random wrong one; 0.5 is chance; the
check's own MiniLM support score for comparison), and, combined with today's check
(``CheckRules()`` at the support threshold: a claim is flagged when the check flags
it OR the score is under a threshold), the issue's two figures at the thresholds
that flag 50%, 80% and 90% of the wrong claims on the tuning half, checked on the
held-out half (question ids alternately, as scripts/grounding_labels.py splits them).
``--from FILE`` recomputes the figures from a saved run without the model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpt4all_rag.index.embedders import build_embedder
from gpt4all_rag.settings import Settings, bundled_gguf
from gpt4all_rag.trust.embedding import CachedEmbedder
from gpt4all_rag.trust.grounding import SUPPORT_THRESHOLD, CheckRules
from gpt4all_rag.trust.text import strip_markers
from scripts._common import ROOT, machine, read_result, write_result
from scripts.grounding_labels import LABELS, rescored

_SYSTEM = "You check statements against a passage. Answer with Yes or No only."
_ASK = (
    "Passage:\n{passage}\n\nStatement: {statement}\n\n"
    "Is the statement true according to the passage? Answer Yes or No."
)
_PASSAGE_CHARS = 1800  # each cited passage, cut: the bundled model's context is 2,048 tokens


class Judge:
    """One llama.cpp model, scoring by the logits of one forward pass."""

    def __init__(self, model: Path) -> None:
        import llama_cpp  # the scoring model: loaded once, here only

        # two contexts: the question needs the last position's logits only, the
        # statement's likelihood every position's (logits_all: an output projection each)
        self.last = llama_cpp.Llama(model_path=str(model), n_ctx=2048, verbose=False)
        self.llm = llama_cpp.Llama(
            model_path=str(model), n_ctx=2048, logits_all=True, verbose=False
        )
        self.yes = self._single(" Yes"), self._single("Yes")
        self.no = self._single(" No"), self._single("No")

    def _single(self, text: str) -> int:
        return self.llm.tokenize(text.encode(), add_bos=False, special=False)[0]

    def _chat(self, user: str) -> list[int]:
        text = (
            f"<|im_start|>system\n{_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def _logits(self, tokens: list[int], rows: slice) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(tokens)
        return np.asarray(self.llm.scores[rows], dtype=np.float64)

    def yes_no(self, passage: str, statement: str) -> float:
        """log p(Yes) - log p(No) for the first answer token."""
        tokens = self._chat(_ASK.format(passage=passage, statement=statement))
        self.last.reset()
        self.last.eval(tokens)
        # without logits_all llama-cpp-python keeps no scores: read the context's last row
        row = np.ctypeslib.as_array(self.last._ctx.get_logits(), shape=(self.last.n_vocab(),))
        last = _log_softmax(row.astype(np.float64))
        return float(np.logaddexp(*last[list(self.yes)]) - np.logaddexp(*last[list(self.no)]))

    def pmi(self, passage: str, statement: str) -> float:
        """Mean log p(statement | passage) - mean log p(statement | nothing)."""
        return self._mean_logprob(f"{passage}\n\n", statement) - self._mean_logprob("", statement)

    def _mean_logprob(self, before: str, statement: str) -> float:
        prefix = self.llm.tokenize(before.encode(), add_bos=False) if before else []
        body = self.llm.tokenize(statement.encode(), add_bos=False)
        tokens = [self.llm.token_bos(), *prefix, *body]
        start = 1 + len(prefix)
        rows = _log_softmax(self._logits(tokens, slice(start - 1, len(tokens) - 1)))
        return float(np.mean(rows[np.arange(len(body)), body]))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def claims(path: Path) -> list[dict[str, Any]]:
    """Every labelled claim with its cited passages' text (all sources when it cites none)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts = {s["number"]: s["text"][:_PASSAGE_CHARS] for s in row["sources"]}
        for sentence in row["sentences"]:
            if sentence["label"] == "not_a_claim":
                continue
            cited = [texts[n] for n in sentence["cited"] if n in texts] or list(texts.values())
            found.append(
                {
                    "id": row["id"],
                    "text": " ".join(strip_markers(sentence["text"]).split()),
                    "label": sentence["label"],
                    "passage": "\n\n".join(cited[:2]),
                }
            )
    return found


def auc(scores: list[float], labels: list[str]) -> float:
    """P(a correct claim scores above a wrong one); ties count half."""
    right = [s for s, lab in zip(scores, labels, strict=True) if lab == "correct"]
    wrong = [s for s, lab in zip(scores, labels, strict=True) if lab == "wrong"]
    pairs = [(r > w) + 0.5 * (r == w) for r in right for w in wrong]
    return round(float(np.mean(pairs)), 3) if pairs else float("nan")


def figures(rows: list[dict[str, Any]], score: str, threshold: float) -> dict[str, Any]:
    """The check OR score < threshold: correct among the shown claims, wrong ones flagged."""
    flagged = [r["flagged"] or r[score] < threshold for r in rows]
    shown = [r["label"] for r, f in zip(rows, flagged, strict=True) if not f]
    wrong = [f for r, f in zip(rows, flagged, strict=True) if r["label"] == "wrong"]
    return {
        "threshold": round(threshold, 3),
        "shown_correct": f"{shown.count('correct')}/{len(shown)}",
        "wrong_flagged": f"{sum(wrong)}/{len(wrong)}",
    }


def todays_flags(path: Path, rows: list[dict[str, Any]]) -> None:
    """Set each claim's ``flagged`` to today's check (the labels keep the old verdict), and
    its recorded MiniLM ``support``."""
    labelled = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    embedder = CachedEmbedder(build_embedder(Settings()))
    verdicts = rescored(labelled, embedder, CheckRules(), SUPPORT_THRESHOLD)
    claims_only = [v for v in verdicts if v[1] != "not_a_claim"]
    supports = [
        s["support"] for r in labelled for s in r["sentences"] if s["label"] != "not_a_claim"
    ]
    for (question_id, label, flagged), support, row in zip(
        claims_only, supports, rows, strict=True
    ):
        if (question_id, label) != (row["id"], row["label"]):
            raise RuntimeError(f"{row['id']}: the labels no longer match the saved run")
        row["flagged"], row["support"] = flagged, support


def score_all(model: Path, rows: list[dict[str, Any]]) -> float:
    """Both scores of every claim; returns the seconds taken."""
    judge = Judge(model)
    started = time.perf_counter()
    for n, row in enumerate(rows, start=1):
        row["yes_no"] = judge.yes_no(row["passage"], row["text"])
        row["pmi"] = judge.pmi(row["passage"], row["text"])
        print(
            f"{n:3}/{len(rows)} {row['label']:8} yes_no {row['yes_no']:+.2f} "
            f"pmi {row['pmi']:+.2f}  {row['text'][:70]}",
            flush=True,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--from", dest="saved", type=Path, help="a saved run: no model")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results/judge_grounding.json")
    args = parser.parse_args()
    model = args.model or Settings().model_path or bundled_gguf()
    if args.saved is not None:
        saved = read_result(args.saved)
        rows, seconds = saved["rows"], saved["seconds"]
    else:
        rows = claims(args.labels)
        seconds = score_all(model, rows)
    todays_flags(args.labels, rows)
    ids = sorted({r["id"] for r in rows})
    tune = set(ids[0::2])
    halves = {
        "all": rows,
        "tune": [r for r in rows if r["id"] in tune],
        "held_out": [r for r in rows if r["id"] not in tune],
    }
    result: dict[str, Any] = {"model": model.name, "claims": len(rows), "seconds": seconds}
    labels = [r["label"] for r in rows]
    result["minilm_support_auc"] = auc([r["support"] for r in rows], labels)
    result["baseline"] = {h: figures(mine, "pmi", -float("inf")) for h, mine in halves.items()}
    print(f"MiniLM support AUC {result['minilm_support_auc']}; today's check: {result['baseline']}")
    for score in ("yes_no", "pmi"):
        entry: dict[str, Any] = {"auc": auc([r[score] for r in rows], labels), "by_target": {}}
        wrong_scores = sorted(r[score] for r in halves["tune"] if r["label"] == "wrong")
        for target in (0.5, 0.8, 0.9):
            threshold = wrong_scores[min(len(wrong_scores) - 1, int(target * len(wrong_scores)))]
            entry["by_target"][str(target)] = {
                half: figures(mine, score, threshold) for half, mine in halves.items()
            }
        result[score] = entry
        print(f"{score}: AUC correct>wrong {entry['auc']}")
        for target, cells in entry["by_target"].items():
            print(f"  flag {target:>4} of tuning wrongs: {json.dumps(cells)}")
    result["rows"] = rows
    result["machine"] = machine()
    write_result(args.out, "judge_grounding", result, indent=1)
    print(f"{len(rows)} claims scored in {seconds:.0f} s; saved {args.out}")


if __name__ == "__main__":
    main()
