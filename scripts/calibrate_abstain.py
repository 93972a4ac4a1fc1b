"""Calibrate the "not in your documents" decision on the R-manual dev set.

Usage:
    python -m scripts.calibrate_abstain --docs bench-data/rdev-docs --index bench-data/rdev-index \
        [--out bench-results/abstain.json]

For every dev-set question, records retrieval features through the public API
(``assistant.search(q, k=10, mode=...)`` in vector, keyword and hybrid modes, with the
relevance floor off: ``Settings(relevance_floor=-1)``), then evaluates candidate
abstention rules ("abstain when feature < threshold", and pairs of them joined by OR or
AND, and a logistic score over all features) for the share of out-of-scope questions
abstained (goal >= 90%) and of answerable ones falsely abstained (goal <= 5%).

A threshold is fitted as the one that abstains on the most out-of-scope questions while
keeping false abstentions at or under 5% of the answerable ones (midpoints between
observed values). Against overfitting each rule is also scored on a split (fitted on the
even-numbered ids, tested on the odd, and the reverse) and by leave-one-out (each
question decided by thresholds fitted without it). The page recall of each mode at
k = 1, 4, 5, 10 is reported as well (the retrieval issue's measure).

To measure another checkout's code, run from outside both trees with that checkout first
on the path: ``PYTHONPATH=<other>:<this checkout> python -m scripts.calibrate_abstain``.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import gpt4all_rag
from gpt4all_rag import DocumentAssistant, Settings
from ingest.loaders import load_file
from scripts._common import write_result
from scripts.devset_common import DEVSET, Question, load_devset, page_matches

MODES = ("vector", "keyword", "hybrid")
K = 10
MAX_FALSE_ABSTAIN = 0.05
GOAL_OOS = 0.90
_TOKEN = re.compile(r"[a-z][a-z0-9_.]*[a-z0-9_]|[a-z]")

# fmt: off
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "get",
    "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "make", "me", "my", "of",
    "on", "or", "should", "so", "that", "the", "their", "them", "there", "these", "they",
    "this", "to", "up", "use", "using", "want", "was", "way", "what", "when", "where", "which",
    "who", "why", "will", "with", "would", "you", "your",
))
# fmt: on


# --- words ---------------------------------------------------------------------------
def _stopwords() -> set[str]:
    """Our list, plus bm25s's English stop words where it is installed."""
    try:
        from bm25s.stopwords import STOPWORDS_EN
    except ImportError:
        return set(_STOPWORDS)
    return set(_STOPWORDS) | set(STOPWORDS_EN)


def _stem_function() -> Callable[[str], str]:
    try:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        return lambda word: str(stemmer.stemWord(word))
    except ImportError:
        return lambda word: word


STOPWORDS = _stopwords()
STEM = _stem_function()


def stems(text: str) -> set[str]:
    """The stems of the words of a text (dotted identifiers kept whole, and their parts)."""
    words = set()
    for token in _TOKEN.findall(text.lower()):
        token = token.strip("._")
        words.add(token)
        words.update(part for part in re.split(r"[._]", token) if part)
    return {STEM(w) for w in words if w}


def content_stems(question: str) -> set[str]:
    return {
        STEM(w.strip("._"))
        for w in _TOKEN.findall(question.lower())
        if w.strip("._") not in STOPWORDS and len(w.strip("._")) >= 3
    }


def page_frequencies(docs: Path) -> tuple[Counter[str], int]:
    """In how many pages of the corpus each stem occurs (the rarity of a question word)."""
    counts: Counter[str] = Counter()
    pages = 0
    for path in sorted(p for p in docs.iterdir() if p.is_file()):
        for page in load_file(path):
            counts.update(stems(page.text))
            pages += 1
    return counts, pages


# --- features ----------------------------------------------------------------------------
def retrieval_features(
    assistant: DocumentAssistant, q: Question, df: Counter[str], n_pages: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """The features of one question, and the ranked pages of each mode (for recall)."""
    hits = {mode: assistant.search(q.question, k=K, mode=mode) for mode in MODES}
    vec, kw, hyb = hits["vector"], hits["keyword"], hits["hybrid"]
    words = content_stems(q.question)
    present = {w for w in words if df[w] > 0}
    rarest = min(present, key=lambda w: (df[w], w)) if present else None
    top3_text = stems(" ".join(s.text for s in hyb[:3]))
    top1_text = stems(hyb[0].text) if hyb else set()
    features = {
        "vec_top1": vec[0].similarity if vec else -1.0,
        "vec_top3_mean": float(np.mean([s.similarity for s in vec[:3]])) if vec else -1.0,
        "vec_gap12": (vec[0].similarity - vec[1].similarity) if len(vec) > 1 else 0.0,
        "hyb_top1_sim": hyb[0].similarity if hyb else -1.0,
        "kw_top1_bm25": kw[0].score if kw else 0.0,
        "kw_top1_sim": kw[0].similarity if kw else -1.0,
        "kw_bm25_per_word": (kw[0].score / max(len(words), 1)) if kw else 0.0,
        "overlap_top10": float(len({s.chunk_id for s in vec} & {s.chunk_id for s in kw})),
        "rare_in_top1": float(rarest is not None and rarest in top1_text),
        "coverage_top3": len(words & top3_text) / len(words) if words else 0.0,
        "known_words": len(present) / len(words) if words else 0.0,
        "rarest_idf": math.log(n_pages / df[rarest]) if rarest else 0.0,
    }
    ranked = {m: [(s.file, s.page) for s in hits[m]] for m in MODES}
    return {k: round(float(v), 5) for k, v in features.items()}, ranked


def page_recall(questions: list[Question], ranked: dict[str, dict[str, list]]) -> dict[str, Any]:
    """Share of answerable questions with a right page in the top k, per mode."""
    answerable = [q for q in questions if q.answerable]
    out: dict[str, Any] = {}
    for mode in MODES:
        out[mode] = {
            f"@{k}": round(
                statistics.mean(
                    any(page_matches(q, f, p) for f, p in ranked[q.id][mode][:k])
                    for q in answerable
                ),
                3,
            )
            for k in (1, 4, 5, 10)
        }
    return out


# --- rules -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """Abstain when feature(s) fall under threshold(s); ``join`` combines two of them."""

    name: str
    features: tuple[str, ...]
    join: str = "single"  # single, or, and, logistic


def candidates(values: np.ndarray) -> np.ndarray:
    """Thresholds to try: midpoints between the sorted distinct values, and both ends."""
    unique = np.unique(values)
    mids = (unique[:-1] + unique[1:]) / 2
    return np.concatenate([[unique[0] - 1e-6], mids, [unique[-1] + 1e-6]])


def decide(rule: Rule, x: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """True where the rule abstains; ``x`` has one column per feature of the rule."""
    below = x < np.asarray(thresholds)[None, : x.shape[1]]
    if rule.join == "and":
        return below.all(axis=1)
    return below.any(axis=1)


def score(abstain: np.ndarray, oos: np.ndarray) -> tuple[float, float]:
    """(share of out-of-scope abstained, share of answerable falsely abstained)."""
    return float(abstain[oos].mean()), float(abstain[~oos].mean())


def fit_thresholds(rule: Rule, x: np.ndarray, oos: np.ndarray) -> tuple[float, ...]:
    """The thresholds that abstain on most out-of-scope questions within the FA budget.

    Every combination of candidate thresholds is scored at once (one boolean array of
    questions x thresholds, or questions x thresholds x thresholds for a pair); among the
    best, the middle one of the tied range is taken, not an edge.
    """
    allowed = math.floor(MAX_FALSE_ABSTAIN * int((~oos).sum()) + 1e-9)
    grids = [candidates(x[:, i]) for i in range(x.shape[1])]
    below = [x[:, i][:, None] < grid[None, :] for i, grid in enumerate(grids)]
    if len(below) == 1:
        abstain = below[0]
    elif rule.join == "and":
        abstain = below[0][:, :, None] & below[1][:, None, :]
    else:
        abstain = below[0][:, :, None] | below[1][:, None, :]
    caught, false = abstain[oos].sum(axis=0), abstain[~oos].sum(axis=0)
    key = np.where(false <= allowed, caught * (len(oos) + 1) - false, -(10**9))
    ties = np.argwhere(key == key.max())
    pick = ties[len(ties) // 2]
    return tuple(float(grids[i][j]) for i, j in enumerate(pick))


# --- a logistic score over all features (numpy, no extra dependency) -----------------------
def fit_logistic(x: np.ndarray, oos: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, ...]:
    """Standardize, then fit P(out of scope) by gradient descent; returns (mean, std, w, b)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    y = oos.astype(float)
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.1 * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= 0.1 * float((p - y).mean())
    return mean, std, w, np.asarray([b])


def logistic_in_scope(model: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
    """Minus the out-of-scope logit: low means abstain, like the other features."""
    mean, std, w, b = model
    return -(((x - mean) / std) @ w + b[0])[:, None]


# --- evaluation ------------------------------------------------------------------------
def fitted_decision(
    rule: Rule, x: np.ndarray, oos: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, tuple[float, ...]]:
    """Fit on ``train`` rows, decide ``test`` rows."""
    if rule.join == "logistic":
        model = fit_logistic(x[train], oos[train])
        thresholds = fit_thresholds(rule, logistic_in_scope(model, x[train]), oos[train])
        return decide(rule, logistic_in_scope(model, x[test]), thresholds), thresholds
    thresholds = fit_thresholds(rule, x[train], oos[train])
    return decide(rule, x[test], thresholds), thresholds


def evaluate(rule: Rule, x: np.ndarray, oos: np.ndarray, even: np.ndarray) -> dict[str, Any]:
    """In-sample, split (even/odd ids both ways) and leave-one-out figures of one rule."""
    everything = np.ones(len(oos), bool)
    abstain, thresholds = fitted_decision(rule, x, oos, everything, everything)
    split = np.zeros(len(oos), bool)
    for train in (even, ~even):
        split[~train], _ = fitted_decision(rule, x, oos, train, ~train)
    loo = np.zeros(len(oos), bool)
    for i in range(len(oos)):
        train = np.ones(len(oos), bool)
        train[i] = False
        loo[i] = fitted_decision(rule, x, oos, train, ~train)[0][0]
    return {
        "rule": rule.name,
        "thresholds": [round(t, 4) for t in thresholds] if rule.join != "logistic" else None,
        "in_sample": _pair(*score(abstain, oos)),
        "split": _pair(*score(split, oos)),
        "loo": _pair(*score(loo, oos)),
    }


def _pair(oos_rate: float, fa_rate: float) -> dict[str, float]:
    return {"oos_abstained": round(oos_rate, 3), "false_abstained": round(fa_rate, 3)}


def rules(feature_names: list[str]) -> list[Rule]:
    singles = [Rule(f"{f} < t", (f,)) for f in feature_names]
    pairs = [
        ("vec_top1", "coverage_top3"),
        ("vec_top1", "kw_top1_bm25"),
        ("vec_top1", "kw_bm25_per_word"),
        ("vec_top1", "known_words"),
        ("vec_top1", "rare_in_top1"),
        ("vec_top3_mean", "coverage_top3"),
        ("hyb_top1_sim", "coverage_top3"),
        ("vec_top1", "overlap_top10"),
    ]
    combos = [Rule(f"{a} < t1 {j} {b} < t2", (a, b), j) for a, b in pairs for j in ("or", "and")]
    return singles + combos + [Rule("logistic(all features) < t", tuple(feature_names), "logistic")]


def fixed_rule(x: np.ndarray, oos: np.ndarray, threshold: float) -> dict[str, Any]:
    """Today's rule as shipped: no passage with cosine >= the floor (0.25)."""
    abstain = x[:, 0] < threshold
    pair = _pair(*score(abstain, oos))
    return {
        "rule": f"vec_top1 < {threshold} (current floor)",
        "thresholds": [threshold],
        "in_sample": pair,
        "split": pair,
        "loo": pair,
    }


# --- main -------------------------------------------------------------------------------
def collect(args: argparse.Namespace, questions: list[Question]) -> dict[str, Any]:
    settings = Settings(documents_dir=args.docs, index_dir=args.index, relevance_floor=-1)
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    df, n_pages = page_frequencies(args.docs)
    features, ranked = {}, {}
    for q in questions:
        features[q.id], ranked[q.id] = retrieval_features(assistant, q, df, n_pages)
    return {"features": features, "ranked": ranked, "chunks": assistant.status().chunks}


def id_number(q: Question) -> int:
    return int(re.sub(r"\D", "", q.id) or 0)


def table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'rule':<48} {'thresholds':<20} {'in-sample':>13} {'split':>13} {'LOO':>13}")
    print(f"{'':<48} {'':<20} {'oos%  fa%':>13} {'oos%  fa%':>13} {'oos%  fa%':>13}")
    for r in results:
        cells = [
            f"{100 * r[s]['oos_abstained']:5.1f} {100 * r[s]['false_abstained']:5.1f}"
            for s in ("in_sample", "split", "loo")
        ]
        shown = "" if r["thresholds"] is None else ", ".join(f"{t:g}" for t in r["thresholds"])
        print(f"{r['rule']:<48} {shown:<20} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13}")


def best_rule(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Most out-of-scope abstained under leave-one-out within the FA goal (then fewer FAs)."""
    within = [r for r in results if r["loo"]["false_abstained"] <= MAX_FALSE_ABSTAIN]
    pool = within or results
    return max(
        pool,
        key=lambda r: (
            r["loo"]["oos_abstained"],
            -r["loo"]["false_abstained"],
            r["split"]["oos_abstained"],
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--out", type=Path, default=Path("bench-results/abstain.json"))
    parser.add_argument("--floor", type=float, default=0.25, help="today's cosine floor")
    args = parser.parse_args()
    questions = load_devset(args.devset)
    data = collect(args, questions)
    names = list(next(iter(data["features"].values())))
    x = np.array([[data["features"][q.id][f] for f in names] for q in questions])
    oos = np.array([not q.answerable for q in questions])
    even = np.array([id_number(q) % 2 == 0 for q in questions])
    results = [fixed_rule(x[:, [names.index("vec_top1")]], oos, args.floor)]
    for rule in rules(names):
        columns = [names.index(f) for f in rule.features]
        results.append(evaluate(rule, x[:, columns], oos, even))
    table(results)
    best = best_rule(results[1:])
    recall = page_recall(questions, data["ranked"])
    print(f"\nbest: {best['rule']} thresholds {best['thresholds']} LOO {best['loo']}")
    print(f"page recall (answerable, {sum(q.answerable for q in questions)}): {recall}")
    result = {
        "code": str(Path(gpt4all_rag.__file__).resolve().parent),
        "chunks": data["chunks"],
        "questions": len(questions),
        "feature_names": names,
        "rules": results,
        "best": best,
        "page_recall": recall,
        "features": data["features"],
        "ranked": data["ranked"],
    }
    write_result(args.out, "calibrate_abstain", result, indent=1)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
