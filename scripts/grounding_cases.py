"""The sentences the grounding check is calibrated on: true of the sources, or not.

For each dev-set question (see calibrate_grounding): positives are a source sentence as
written, a model-like compression of one, of the key-fact sentence, and a right answer by
hand; negatives a sentence of another R manual, the key-fact sentence with its
identifiers or numbers changed, an invented answer to each out-of-scope question, and a
wrong answer on the right topic by hand.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from gpt4all_rag.answer import Source
from gpt4all_rag.trust.quotable import sentence_candidates
from gpt4all_rag.trust.text import word_count
from scripts.devset_common import Question, contains_facts

__all__ = [
    "ANSWERS",
    "INVENTED",
    "Case",
    "alter",
    "build_cases",
    "other_manual_sentences",
    "paraphrase",
    "vocabulary",
]

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
IDENTIFIER = re.compile(
    r"\b(?:[A-Za-z]\w*(?:[._:$]+\w+)+|[A-Z]{2,}\w*|[a-z]+[A-Z]\w*|\w+(?=\(\)))\b|\b\d+(?:\.\d+)?\b"
)


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
    found = list(IDENTIFIER.finditer(sentence))
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


def vocabulary(sentences: list[str]) -> list[str]:
    """The identifiers (not the numbers) of ``sentences``: what ``alter`` swaps in."""
    found = sorted({m.group(0) for s in sentences for m in IDENTIFIER.finditer(s)} - {""})
    return [v for v in found if not v.replace(".", "").isdigit()]


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
