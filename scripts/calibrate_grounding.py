"""Calibrate the grounding check (and measure the evidence) on the R-manual dev set.

Usage:
    python scripts/calibrate_grounding.py [--docs bench-data/rdev-docs]
        [--index bench-data/rdev-index] [--other bench-data/r-4]
        [--out bench-results/calibrate_grounding.json]

For every dev-set question, the top 4 passages come from the real index (hybrid
search, bundled MiniLM), as an answer would get them. Sentences are then scored
for support by those passages (``gpt4all_rag.grounding``):

- positives, true of the sources: a source sentence as written (``verbatim``); a
  source sentence compressed as a model would (parentheses and lead-ins dropped,
  first clause kept, a few words swapped for synonyms: ``paraphrase``); the same
  for the source sentence that holds the key fact (``key_fact``); a right answer
  in a model's words, written by hand for 31 questions (``answer``).
- negatives, not in the sources: a sentence from another R manual (R-admin,
  R-intro, R-data, R-FAQ: ``other_manual``); the key-fact sentence with its
  identifiers or numbers changed (``altered``); a plausible invented answer to
  each out-of-scope question, over the passages retrieved for it (``invented``);
  a wrong answer on the right topic, by hand, for the same 31 (``wrong_answer``).

It prints the flagging precision and recall (a negative flagged is a hit, a
positive flagged a false alarm) for several overlap weights, the best-F1
threshold on the even questions checked on the odd ones, then the choice: the
weight and threshold that flag the most negatives while flagging at most 5% of
each kind of true sentence, with its figures on all questions and each half. It
saves everything as JSON (``--rescore FILE`` chooses again from that file).
It also measures the evidence: key fact in the evidence, evidence from a right
page, and the time select_evidence takes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from devset_common import Question, contains_facts, load_devset, page_matches  # noqa: E402

from gpt4all_rag import DocumentAssistant, Settings  # noqa: E402
from gpt4all_rag.answer import Source  # noqa: E402
from gpt4all_rag.assistant import build_embedder  # noqa: E402
from gpt4all_rag.evidence import CachedEmbedder, select_evidence, sentence_candidates  # noqa: E402
from gpt4all_rag.grounding import (  # noqa: E402
    SCORE_ONLY,
    SUPPORT_THRESHOLD,
    CheckRules,
    attribute,
    similarity_and_overlap,
)
from gpt4all_rag.text import strip_markers, word_count  # noqa: E402

# One invented answer a model could give to each out-of-scope question (in order).
INVENTED = [
    "Call dropna() on the DataFrame to remove every row that has a missing value.",
    "Run conda install with the -n option followed by the environment name.",
    "Build the distribution with python -m build and upload it with twine upload dist/*.",
    "In the Pkg REPL mode, type add followed by the package name to add a dependency.",
    "A MEX function defines mexFunction as its entry point and is compiled with the mex command.",
    "Sort both datasets by the key and use a MERGE statement with a BY statement in a DATA step.",
    "With approximate match, VLOOKUP returns the largest value that is less than the lookup value.",
    "Pin a version by writing the package name followed by two equals signs and the version.",
    "CPython finds reference cycles with a generational garbage collector that runs periodically.",
    "Insert breakpoint() or import pdb; pdb.set_trace() where the script should stop.",
    "Run python -m venv followed by the directory name to create a virtual environment.",
    "Add the vce(robust) option to the regress command to get robust standard errors.",
    "The devpi server can act as a caching mirror of PyPI for offline installs.",
    "A NumPy ufunc in C is created with PyUFunc_FromFuncAndData and a loop function.",
    "Set the registry key in .npmrc to the URL of the private registry.",
    "Fork the staged-recipes repository and open a pull request with the new recipe.",
    "Use RECODE with the INTO keyword to put the new values into a different variable.",
    "Run python -m cProfile -s cumtime followed by the script to profile the program.",
    "Use CSV.read with the file name and DataFrame as the sink to load the file.",
    "G1 starts mixed collections after a concurrent marking cycle finds enough old regions.",
    "Write reStructuredText docstrings with :param: fields and autodoc renders them.",
    "The COUNTIFS formula counts cells that meet two conditions at once.",
    "Select the data range, then choose Insert and Pivot table in Google Sheets.",
    "The autoscaler compares the average CPU utilisation with the target and scales replicas.",
    "The daily meal allowance is 45 euros for trips within the country.",
    "Business-class flights may be expensed for trips longer than six hours.",
    "A steak should rest for about five minutes after grilling before it is cut.",
    "Sourdough bread bakes at 230 degrees Celsius for the first twenty minutes.",
    "Reset the VPN password from the self-service portal with your employee number.",
    "Capital gains on shares held more than a year are taxed at fifteen percent.",
    "Put the certificate and key paths in ssl_certificate and ssl_certificate_key in nginx.",
    "New employees get twenty vacation days in their first year.",
    "Remove the wheel, patch the inner tube, and pump the tire back to its pressure.",
    "Configure a backend s3 block with the bucket, key and region in Terraform.",
    "The office cafeteria closes at three o'clock on Fridays.",
    "The northern lights are caused by charged particles from the sun hitting the atmosphere.",
    "Kafka rebalances partitions when a consumer joins or leaves the group.",
    "Run kubectl rollout undo on the deployment to roll back to the previous revision.",
    "Mix milk with a spoonful of lemon juice and let it stand to replace buttermilk.",
]

# Answers in a model's words to some answerable questions: one right (a positive) and one
# that names the wrong thing (a negative, the hardest kind: right topic, wrong fact).
ANSWERS = {
    "exts-01": (
        "The DESCRIPTION file must contain the Package, Version, License, Description, "
        "Title, Author and Maintainer fields.",
        "The DESCRIPTION file must contain the Homepage, Keywords and BugReports fields.",
    ),
    "exts-02": (
        "Packages whose functions you use through the NAMESPACE without attaching them "
        "belong in the Imports field.",
        "Packages whose functions you use without attaching them belong in the Enhances field.",
    ),
    "exts-03": (
        "Set LazyData: true in the DESCRIPTION file so that the datasets are lazy-loaded.",
        "Set LazyDatasets: yes in the NAMESPACE file so that the datasets load lazily.",
    ),
    "exts-04": (
        "Add -I/usr/local/include to PKG_CPPFLAGS in the src/Makevars file.",
        "Add the include path to PKG_LIBS in the configure.ac file.",
    ),
    "exts-05": (
        "List the files to leave out in a .Rbuildignore file, one Perl regular expression "
        "per line.",
        "List the files to leave out in a .Rinstignore file in the data directory.",
    ),
    "exts-06": (
        "Run R CMD build on the package source directory to make the tarball.",
        "Run R CMD tarball --release on the package directory to make the release.",
    ),
    "exts-07": (
        "Add VignetteBuilder: knitr to DESCRIPTION and use the knitr vignette engine.",
        "Add Vignettes: knitr-only to the NAMESPACE file and delete the Sweave files.",
    ),
    "exts-08": (
        "Add S3method(print, foo) to the NAMESPACE file to register the method.",
        "Call registerMethod(print.foo) in the R code of the package to register it.",
    ),
    "exts-09": (
        "Put that code in a .onLoad function, which runs when the namespace is loaded.",
        "Put that code in a .Rprofile file at the top of the package sources.",
    ),
    "exts-11": (
        "By default Rprof samples the call stack every 20 milliseconds.",
        "By default Rprof records the call stack every 5 seconds.",
    ),
    "exts-13": (
        "Start R with R -d gdb and then run it inside the debugger.",
        "Start R with R --debug-segfault and it prints the crashing line.",
    ),
    "exts-14": (
        "Call GetRNGstate before drawing random numbers and PutRNGstate afterwards.",
        "Call set.seed before drawing random numbers and RNGkind afterwards.",
    ),
    "exts-15": (
        "Call R_CheckUserInterrupt regularly inside the loop so the user can interrupt it.",
        "Call R_AllowInterrupts once before the loop so the user can interrupt it.",
    ),
    "exts-17": (
        "Call R_registerRoutines in the package's initialization routine R_init_pkg.",
        "Call dyn.register in the package's .onAttach function.",
    ),
    "exts-19": (
        "The entries in a CITATION file should be created with bibentry.",
        "The entries in a CITATION file should be created with toBibtex and citEntry2.",
    ),
    "lang-01": (
        "The function typeof returns the internal type of an object, such as integer or double.",
        "The function storage.kind returns the internal type of an object.",
    ),
    "lang-02": (
        "R has six basic atomic vector types.",
        "R has eleven basic atomic vector types.",
    ),
    "lang-05": (
        "Use break to leave a repeat loop.",
        "Use exit() to leave a repeat loop.",
    ),
    "lang-08": (
        "R uses lexical scoping: free variables are looked up in the environment where "
        "the function was created.",
        "R uses dynamic scoping: free variables are looked up in the calling function.",
    ),
    "lang-11": (
        "Call NextMethod to dispatch to the method for the next class.",
        "Call callSuper to dispatch to the method for the parent class.",
    ),
    "lang-13": (
        "Use substitute on the argument to get the unevaluated expression.",
        "Use eval.promise on the argument to get the unevaluated expression.",
    ),
    "lang-14": (
        "Register the cleanup code with on.exit so it runs when the function exits.",
        "Register the cleanup code with finally.exit so it runs at the end.",
    ),
    "lang-16": (
        "Call traceback after the error to print the calls that were active.",
        "Call lastError after the error to print the calls that were active.",
    ),
    "lang-19": (
        "Use the system function to run a shell command from R.",
        "Use the shell.exec.command function to run a shell command from R.",
    ),
    "ints-01": (
        "A closure, an ordinary R function, has the SEXPTYPE CLOSXP.",
        "An ordinary R function has the SEXPTYPE FUNSXP.",
    ),
    "ints-02": (
        "On a 64-bit platform a node takes 56 bytes.",
        "On a 64-bit platform a node takes 128 bytes.",
    ),
    "ints-06": (
        "R uses a generational garbage collector with three levels of collection.",
        "R uses a reference-counting garbage collector with five levels of collection.",
    ),
    "ints-07": (
        "save and saveRDS write serialization format version 3 by default.",
        "save and saveRDS write serialization format version 7 by default.",
    ),
    "ints-08": (
        "A lazy-loading database is made of an .rdb file and an .rdx file.",
        "A lazy-loading database is made of a .lzd file and a .idx file.",
    ),
    "ints-13": (
        "R Core recommends an indentation of 4 spaces for R and C code.",
        "R Core recommends an indentation of 8 spaces with tabs for R and C code.",
    ),
    "ints-18": (
        "The C function mkChar creates the cached CHARSXP strings.",
        "The C function makeCachedString creates the cached CHARSXP strings.",
    ),
}

_SYNONYMS = {
    "should": "ought to",
    "must": "has to",
    "can": "is able to",
    "is used": "serves",
    "allows": "lets",
    "gives": "provides",
    "contains": "holds",
    "specify": "state",
    "specified": "stated",
    "needed": "required",
    "required": "needed",
    "several": "a few",
    "usually": "normally",
    "often": "frequently",
    "however": "but",
}
_LEAD_INS = re.compile(
    r"^(?:note that|however,?|thus,?|so,?|also,?|in particular,?|for example,?|as a result,?)\s+",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(
    r"\b(?:[A-Za-z]\w*(?:[._:$]+\w+)+|[A-Z]{2,}\w*|[a-z]+[A-Z]\w*|\w+(?=\(\)))\b|\b\d+(?:\.\d+)?\b"
)
_THRESHOLDS = [round(t, 2) for t in np.arange(0.3, 1.61, 0.05)]
_WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0]
POSITIVE_KINDS = ("verbatim", "paraphrase", "key_fact", "answer")
MAX_FALSE_ALARMS = 0.05


@dataclass
class Case:
    """One sentence to check against one question's sources."""

    question: str
    kind: str
    positive: bool
    sentence: str
    half: int


def paraphrase(sentence: str, rng: random.Random) -> str:
    """A model-like compression: no parentheses or lead-in, first clause, a synonym or two."""
    text = re.sub(r"\s*\([^)]*\)", "", sentence)
    text = _LEAD_INS.sub("", text).strip()
    for mark in (": ", "; ", ", which ", ", but "):
        head = text.split(mark)[0]
        if word_count(head) >= 6:
            text = head.rstrip(".,;:") + "."
            break
    swaps = [w for w in _SYNONYMS if re.search(rf"\b{w}\b", text)]
    for word in rng.sample(swaps, min(2, len(swaps))):
        text = re.sub(rf"\b{word}\b", _SYNONYMS[word], text, count=1)
    return text[:1].upper() + text[1:]


def alter(sentence: str, vocabulary: list[str], rng: random.Random) -> str | None:
    """The sentence with its identifiers and numbers changed (None if it has none)."""
    found = list(_IDENTIFIER.finditer(sentence))
    if not found:
        return None
    out, last = [], 0
    for match in found:
        out.append(sentence[last : match.start()])
        token = match.group(0)
        if token.replace(".", "").isdigit():
            out.append(str(int(float(token)) * 2 + 3))
        else:
            out.append(rng.choice([v for v in vocabulary if v.lower() != token.lower()]))
        last = match.end()
    out.append(sentence[last:])
    return "".join(out)


def other_manual_sentences(folder: Path) -> list[str]:
    """Usable sentences of the R manuals that are not in the index."""
    from pypdf import PdfReader

    sentences: list[str] = []
    for pdf in sorted(folder.glob("*.pdf")):
        for page in PdfReader(pdf).pages:
            sentences.extend(
                s for s in sentence_candidates(page.extract_text() or "") if word_count(s) <= 40
            )
    return sentences


def open_assistant(docs: Path, index: Path) -> DocumentAssistant:
    settings = Settings(documents_dir=docs, index_dir=index)
    assistant = DocumentAssistant.from_settings(settings)
    if not assistant.documents():
        assistant.ingest()
    return assistant


def sources_for(assistant: DocumentAssistant, question: str) -> list[Source]:
    return list(assistant.search(question, k=4))  # numbered [1]..[4], best first


def fact_sentence(question: Question, sources: list[Source]) -> str | None:
    for source in sources:
        for sentence in sentence_candidates(source.text):
            if contains_facts(question.facts, sentence):
                return sentence
    return None


def build_cases(
    questions: list[Question],
    sources: dict[str, list[Source]],
    others: list[str],
    vocabulary: list[str],
    rng: random.Random,
) -> list[Case]:
    cases: list[Case] = []
    answerable = [q for q in questions if q.answerable]
    for index, question in enumerate(answerable):
        for kind, positive, sentence in cases_for(
            question, sources[question.id], others, vocabulary, rng
        ):
            cases.append(Case(question.id, kind, positive, sentence, index % 2))
    oos = [q for q in questions if not q.answerable]
    for index, (question, claim) in enumerate(zip(oos, INVENTED, strict=True)):
        if sources[question.id]:
            cases.append(Case(question.id, "invented", False, claim, index % 2))
    return cases


def cases_for(
    question: Question,
    mine: list[Source],
    others: list[str],
    vocabulary: list[str],
    rng: random.Random,
) -> list[tuple[str, bool, str]]:
    """(kind, positive, sentence) for one answerable question."""
    pool = [s for src in mine for s in sentence_candidates(src.text) if word_count(s) <= 40]
    if not pool:
        return []
    picks = rng.sample(pool, min(2, len(pool)))
    fact = fact_sentence(question, mine)
    found: list[tuple[str, bool, str | None]] = [
        ("verbatim", True, picks[0]),
        ("paraphrase", True, paraphrase(picks[-1], rng)),
        ("key_fact", True, paraphrase(fact, rng) if fact else None),
        *(("other_manual", False, s) for s in rng.sample(others, 2)),
        ("altered", False, alter(paraphrase(fact or picks[0], rng), vocabulary, rng)),
    ]
    if question.id in ANSWERS:
        right, wrong = ANSWERS[question.id]
        found += [("answer", True, right), ("wrong_answer", False, wrong)]
    return [(kind, positive, s) for kind, positive, s in found if s]


def features(
    cases: list[Case], sources: dict[str, list[Source]], embedder: Any, pairs: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Best similarity and the overlap of the best-similarity-plus-overlap source, per weight."""
    sims, overlaps = [], []
    for case in cases:
        similarity, overlap = similarity_and_overlap(
            [case.sentence], sources[case.question], embedder, pairs=pairs
        )
        sims.append(similarity[0])
        overlaps.append(overlap[0])
    return np.asarray(sims, dtype=object), np.asarray(overlaps, dtype=object)


def support(sims: np.ndarray, overlaps: np.ndarray, weight: float) -> np.ndarray:
    return np.asarray([float(np.max(s + weight * o)) for s, o in zip(sims, overlaps, strict=True)])


def table(
    cases: list[Case], scores: np.ndarray, half: int | None, thresholds: list[float] | None = None
) -> list[dict[str, Any]]:
    """Flagging precision/recall, and the share flagged of each kind, by threshold."""
    keep = [i for i, c in enumerate(cases) if half is None or c.half == half]
    rows = []
    for threshold in thresholds or _THRESHOLDS:
        flagged = [i for i in keep if scores[i] < threshold]
        negatives = [i for i in keep if not cases[i].positive]
        hits = sum(1 for i in flagged if not cases[i].positive)
        row: dict[str, Any] = {
            "threshold": threshold,
            "precision": round(hits / len(flagged), 3) if flagged else 1.0,
            "recall": round(hits / len(negatives), 3) if negatives else 0.0,
        }
        for kind in sorted({cases[i].kind for i in keep}):
            mine = [i for i in keep if cases[i].kind == kind]
            row[kind] = round(sum(1 for i in mine if scores[i] < threshold) / len(mine), 3)
        rows.append(row)
    return rows


def f1(row: dict[str, Any]) -> float:
    p, r = row["precision"], row["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def evidence_figures(
    questions: list[Question], sources: dict[str, list[Source]], embedder: Any
) -> dict[str, Any]:
    answerable = [q for q in questions if q.answerable]
    fact_hits = page_hits = fact_in_sources = 0
    times = []
    for question in answerable:
        mine = sources[question.id]
        start = time.perf_counter()
        evidence = select_evidence(question.question, mine, embedder)
        times.append((time.perf_counter() - start) * 1000)
        text = " ".join(e.text for e in evidence)
        fact_hits += bool(contains_facts(question.facts, text))
        page_hits += any(page_matches(question, e.file, e.page) for e in evidence)
        fact_in_sources += bool(contains_facts(question.facts, " ".join(s.text for s in mine)))
    return {
        "questions": len(answerable),
        "key_fact_in_sources": fact_in_sources,
        "key_fact_in_evidence": fact_hits,
        "evidence_from_right_page": page_hits,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(sorted(times)[int(0.9 * len(times))], 1),
    }


def choose(configs: list[dict[str, Any]]) -> tuple[float, float]:
    """The weight and threshold that flag the most negatives while flagging at most
    ``MAX_FALSE_ALARMS`` of each kind of true sentence (a false flag costs trust too)."""
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for config in configs:
        for row in config["all"]:
            alarms = max(row[kind] for kind in POSITIVE_KINDS if kind in row)
            if alarms <= MAX_FALSE_ALARMS and row["recall"] > best[0]:
                best = (row["recall"], config["overlap_weight"], row["threshold"])
    return best[1], best[2]


def print_chosen(cases: list[Case], config: dict[str, Any], threshold: float) -> None:
    """The chosen configuration: figures on all questions and each half, score spread."""
    print(f"chosen: overlap_weight={config['overlap_weight']} threshold={threshold}")
    scores = np.asarray(config["scores"])
    for name, half in (("all", None), ("even", 0), ("odd", 1)):
        print(f"  {name:4}", json.dumps(table(cases, scores, half, [threshold])[0]))
    for kind in sorted({c.kind for c in cases}):
        mine = sorted(float(scores[i]) for i, c in enumerate(cases) if c.kind == kind)
        p10, p50, p90 = (mine[int(q * (len(mine) - 1))] for q in (0.1, 0.5, 0.9))
        print(f"  {kind:13} n={len(mine):3}  p10 {p10:.2f}  median {p50:.2f}  p90 {p90:.2f}")


# --- the check on the bundled model's own sentences (issue 25 item 2) ----------------
LABELS = ROOT / "tests/data/rdev/grounding_labels.jsonl"
_LEVERS: dict[str, CheckRules] = {
    "score only (before)": SCORE_ONLY,
    "+ exact terms (cited)": replace(SCORE_ONLY, exact_terms=True, terms_in="cited"),
    "+ exact terms (any source)": replace(SCORE_ONLY, exact_terms=True, terms_in="any"),
    "+ repetition": replace(SCORE_ONLY, repetition=True),
    "+ negation": replace(SCORE_ONLY, negation=True),
    "+ lead-ins": replace(SCORE_ONLY, lead_ins=True),
    "exact terms + repetition + lead-ins": CheckRules(),
    "all rules": CheckRules(negation=True),
}


def rescored(
    rows: list[dict[str, Any]], embedder: Any, rules: CheckRules, threshold: float
) -> list[tuple[str, str, bool]]:
    """Each labelled sentence's verdict under ``rules``: (question id, label, flagged)."""
    verdicts: list[tuple[str, str, bool]] = []
    for row in rows:
        sources = [
            Source(s["number"], s["file"], s["page"], s["text"], 0.0, 0.0) for s in row["sources"]
        ]
        checked = attribute(row["answer"], sources, embedder, threshold=threshold, rules=rules)
        if [_plain(c.text) for c in checked] != [_plain(s["text"]) for s in row["sentences"]]:
            raise RuntimeError(f"{row['id']}: the sentences no longer split as labelled")
        verdicts += [
            (row["id"], s["label"], not c.supported)
            for s, c in zip(row["sentences"], checked, strict=True)
        ]
    return verdicts


def _plain(sentence: str) -> str:
    """A sentence without its markers and their spaces (the Answer's text has them moved)."""
    return re.sub(r"\s+([.,:;!?])", r"\1", " ".join(strip_markers(sentence).split()))


def label_figures(verdicts: list[tuple[str, str, bool]]) -> dict[str, Any]:
    """Claims shown as supported and how many are right; wrong ones and how many flagged."""
    shown = [label for _, label, flagged in verdicts if label != "not_a_claim" and not flagged]
    wrong = [flagged for _, label, flagged in verdicts if label == "wrong"]
    noise = [flagged for _, label, flagged in verdicts if label == "not_a_claim"]
    correct = [flagged for _, label, flagged in verdicts if label == "correct"]
    return {
        "shown_supported": len(shown),
        "shown_correct": shown.count("correct"),
        "precision": round(shown.count("correct") / len(shown), 3) if shown else None,
        "wrong": len(wrong),
        "wrong_flagged": sum(wrong),
        "recall": round(sum(wrong) / len(wrong), 3) if wrong else None,
        "correct_flagged": sum(correct),
        "not_a_claim_flagged": sum(noise),
    }


def answer_figures(verdicts: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Per answer: with a wrong claim and shown as a draft; all claims right and shown plain."""
    answers: dict[str, list[tuple[str, bool]]] = {}
    for question_id, label, flagged in verdicts:
        answers.setdefault(question_id, []).append((label, flagged))
    claims = {q: [(lab, f) for lab, f in v if lab != "not_a_claim"] for q, v in answers.items()}
    wrong = [v for v in claims.values() if any(lab == "wrong" for lab, _ in v)]
    right = [v for v in claims.values() if v and all(lab == "correct" for lab, _ in v)]
    return {
        "with_a_wrong_claim": len(wrong),
        "of_them_drafts": sum(any(f for _, f in v) for v in wrong),
        "all_claims_right": len(right),
        "of_them_shown_plain": sum(not any(f for _, f in v) for v in right),
    }


def measure_labels(path: Path, out: Path) -> None:
    """The check's figures on the labelled sentences, each lever alone and combined, per half."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    ids = sorted({r["id"] for r in rows})
    tune = set(ids[0::2])  # tune on every other question id, report the rest too
    embedder = CachedEmbedder(build_embedder(Settings()))
    result: dict[str, Any] = {}
    for name, rules in _LEVERS.items():
        verdicts = rescored(rows, embedder, rules, SUPPORT_THRESHOLD)
        halves = {
            "all": verdicts,
            "tune": [v for v in verdicts if v[0] in tune],
            "held_out": [v for v in verdicts if v[0] not in tune],
        }
        result[name] = {half: label_figures(mine) for half, mine in halves.items()}
        cells = "  ".join(
            f"{h}: P {f['shown_correct']}/{f['shown_supported']} "
            f"R {f['wrong_flagged']}/{f['wrong']}"
            for h, f in result[name].items()
        )
        print(f"{name:38} {cells}", flush=True)
    for threshold in (0.75, 0.8, 0.85, 0.9, 0.95, 1.05):
        verdicts = rescored(rows, embedder, CheckRules(), threshold)
        figures = {
            "all": label_figures(verdicts),
            "tune": label_figures([v for v in verdicts if v[0] in tune]),
            "held_out": label_figures([v for v in verdicts if v[0] not in tune]),
            "answers": answer_figures(verdicts),
        }
        result[f"rules, threshold {threshold}"] = figures
        print(f"rules, threshold {threshold:.2f}: {json.dumps(figures)}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"saved {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "bench-data/rdev-docs")
    parser.add_argument("--index", type=Path, default=ROOT / "bench-data/rdev-index")
    parser.add_argument("--other", type=Path, default=ROOT / "bench-data/r-4")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results/calibrate_grounding.json")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--pairs", action="store_true", help="also try sentence pairs as units")
    parser.add_argument(
        "--rescore", type=Path, help="choose again from a saved JSON, without any model"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        nargs="?",
        const=LABELS,
        help="measure the check on the labelled model sentences instead (default file: "
        "tests/data/rdev/grounding_labels.jsonl)",
    )
    args = parser.parse_args()
    if args.labels:
        measure_labels(args.labels, args.out.with_name("grounding_labels.json"))
        return
    if args.rescore:
        saved = json.loads(args.rescore.read_text())
        finish(saved, [Case(**c) for c in saved["cases"]], args.out)
        return

    rng = random.Random(args.seed)
    questions = load_devset()
    assistant = open_assistant(args.docs, args.index)
    embedder = CachedEmbedder(assistant.embedder)  # each source sentence embedded once
    sources = {q.id: sources_for(assistant, q.question) for q in questions}
    others = other_manual_sentences(args.other)
    vocabulary = sorted({m.group(0) for s in others for m in _IDENTIFIER.finditer(s)} - {""})
    vocabulary = [v for v in vocabulary if not v.replace(".", "").isdigit()]

    result: dict[str, Any] = {"evidence": evidence_figures(questions, sources, assistant.embedder)}
    print("evidence:", json.dumps(result["evidence"]))

    cases = build_cases(questions, sources, others, vocabulary, rng)
    counts = {k: sum(1 for c in cases if c.kind == k) for k in sorted({c.kind for c in cases})}
    print("cases:", json.dumps(counts))
    result["cases"] = [c.__dict__ for c in cases]
    result["configs"] = []
    for pairs in (False, True) if args.pairs else (False,):
        sims, overlaps = features(cases, sources, embedder, pairs)
        for weight in _WEIGHTS:
            scores = support(sims, overlaps, weight)
            halves = {name: table(cases, scores, h) for name, h in (("even", 0), ("odd", 1))}
            best = max(halves["even"], key=f1)
            check = next(r for r in halves["odd"] if r["threshold"] == best["threshold"])
            config = {
                "pairs": pairs,
                "overlap_weight": weight,
                "best_on_even": best,
                "same_threshold_on_odd": check,
                "all": table(cases, scores, None),
                "scores": [round(float(s), 4) for s in scores],
            }
            result["configs"].append(config)
            print(
                f"pairs={pairs!s:5} w={weight:.2f}  threshold {best['threshold']:.2f}: "
                f"even P {best['precision']:.3f} R {best['recall']:.3f} F1 {f1(best):.3f} | "
                f"odd P {check['precision']:.3f} R {check['recall']:.3f} F1 {f1(check):.3f}"
            )
    finish(result, cases, args.out)


def finish(result: dict[str, Any], cases: list[Case], out: Path) -> None:
    """Choose the weight and threshold, print them with their figures, save everything."""
    weight, threshold = choose(result["configs"])
    config = next(c for c in result["configs"] if c["overlap_weight"] == weight)
    print_chosen(cases, config, threshold)
    scores = np.asarray(config["scores"])
    result["chosen"] = {
        "overlap_weight": weight,
        "threshold": threshold,
        "all": table(cases, scores, None, [threshold])[0],
        "even": table(cases, scores, 0, [threshold])[0],
        "odd": table(cases, scores, 1, [threshold])[0],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
