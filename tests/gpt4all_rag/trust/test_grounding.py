"""Attribution and the grounding check with the hash embedder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpt4all_rag.answer import Source
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.testing import HashEmbedder
from gpt4all_rag.trust.grounding import (
    SentenceSupport,
    attribute,
    draft_problem,
    is_claim,
    missing_terms,
    with_markers,
)

INSTALL = (
    "Packages are installed from CRAN with the function install.packages. "
    "The library folder must be writable by the user."
)
LOAD = "A package is loaded with the function library. Loading attaches it to the search path."
SOURCES = [
    Source(number=1, file="R-admin.pdf", page=3, text=INSTALL, score=0.5, similarity=0.6),
    Source(number=2, file="R-intro.pdf", page=9, text=LOAD, score=0.4, similarity=0.5),
]


def test_markers_the_model_wrote_are_kept():
    result = attribute("Packages are installed with install.packages [1].", SOURCES, HashEmbedder())
    assert result[0].cited == (1,)
    assert result[0].inferred is False
    assert result[0].supported is True


def test_a_sentence_without_markers_is_attributed_to_the_passage_that_supports_it():
    answer = "The function library loads a package. Packages come from CRAN via install.packages."
    result = attribute(answer, SOURCES, HashEmbedder())
    assert [(r.cited, r.inferred, r.supported) for r in result] == [
        ((2,), True, True),
        ((1,), True, True),
    ]
    assert with_markers(result) == (
        "The function library loads a package [2]. "
        "Packages come from CRAN via install.packages [1]."
    )


def test_an_invented_sentence_is_flagged_and_gets_no_marker():
    answer = (
        "Packages are installed with install.packages [1]. The moon landing was filmed in Nevada."
    )
    result = attribute(answer, SOURCES, HashEmbedder())
    assert result[1].text == "The moon landing was filmed in Nevada."
    assert result[1].supported is False
    assert result[1].cited == ()
    assert result[1].inferred is False
    assert result[1].support < result[0].support


def test_a_marker_out_of_range_is_not_a_citation():
    result = attribute("Packages are installed with install.packages [7].", SOURCES, HashEmbedder())
    assert result[0].cited == (1,)
    assert result[0].inferred is True


def test_sentences_that_are_not_claims_are_never_flagged():
    answer = "I could not find that in your documents. Sorry!"
    result = attribute(answer, SOURCES, HashEmbedder())
    assert [(r.claim, r.supported, r.cited) for r in result] == [
        (False, True, ()),
        (False, True, ()),
    ]
    assert not is_claim("The documents do not contain the answer.")
    assert not is_claim("Is that a question about packages?")
    assert is_claim("Packages are installed from CRAN.")


def test_the_threshold_decides_what_is_supported():
    answer = "The library folder must be writable by the user."
    strict = attribute(answer, SOURCES, HashEmbedder(), threshold=10.0)
    lenient = attribute(answer, SOURCES, HashEmbedder(), threshold=0.0)
    assert strict[0].supported is False
    assert lenient[0].supported is True
    assert strict[0].support == lenient[0].support


def test_with_markers_keeps_the_layout_of_lists():
    answer = "Two steps:\n- install it with install.packages\n- load it with the function library\n"
    result = attribute(answer, SOURCES, HashEmbedder())
    assert with_markers(result) == (
        "Two steps:\n- install it with install.packages [1]\n"
        "- load it with the function library [2]"
    )


def test_a_scripted_answer_is_attributed_end_to_end():
    llm = ScriptedLLM(["Use install.packages to install packages from CRAN."])
    text = "".join(llm.stream_chat([], max_tokens=50, temperature=0.0)).strip()
    result = attribute(text, SOURCES, HashEmbedder())
    assert [r.to_json() for r in result] == [
        {
            "text": "Use install.packages to install packages from CRAN.",
            "cited": [1],
            "support": round(result[0].support, 4),
            "inferred": True,
            "supported": True,
            "reason": "",
        }
    ]


def test_all_texts_are_embedded_in_one_batch():
    embedder = HashEmbedder()
    attribute("One claim about packages here. Another claim about library.", SOURCES, embedder)
    assert len(embedder.calls) == 1


def test_an_answer_with_no_sources_flags_every_claim():
    result = attribute("Packages are installed with install.packages.", [], HashEmbedder())
    assert result == [
        SentenceSupport("Packages are installed with install.packages.", (), 0.0, False, False)
    ]


# --- the rules, on sentences the bundled model wrote (tests/data/rdev/grounding_labels.jsonl)
LABELS = Path(__file__).resolve().parents[2] / "data" / "rdev" / "grounding_labels.jsonl"


def labelled(question_id: str) -> tuple[dict[str, Any], list[Source]]:
    """One labelled answer of the bundled model and the sources it was given."""
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if r["id"] == question_id)
    sources = [
        Source(s["number"], s["file"], s["page"], s["text"], 0.0, 0.0) for s in row["sources"]
    ]
    return row, sources


def verdicts(question_id: str) -> list[tuple[str, str, bool, str]]:
    """Each sentence's label, and whether the check (rules alone: threshold 0) passes it."""
    row, sources = labelled(question_id)
    checked = attribute(row["answer"], sources, HashEmbedder(), threshold=0.0)
    return [
        (s["text"], s["label"], c.supported, c.reason)
        for s, c in zip(row["sentences"], checked, strict=True)
    ]


def test_a_name_the_cited_passage_does_not_hold_is_flagged():
    # Today this scored 0.81 and was shown as supported: `R-exts.pdf` is not an option.
    text, label, supported, reason = verdicts("exts-05")[0]
    assert text.startswith("To keep some files in your source directory out of the package")
    assert (label, supported) == ("wrong", False)
    assert reason == "names “R-exts.pdf”, which your documents do not contain here"


def test_an_invented_identifier_is_flagged_though_its_parts_are_in_the_passage():
    # `R_Visible.c` reuses R_Visible from a passage it does not cite; 0.77 today.
    text, label, supported, reason = verdicts("exts-08")[0]
    assert "`R_Visible.c`" in text
    assert (label, supported) == ("wrong", False)
    assert "“R_Visible.c”" in reason


def test_a_sentence_that_says_the_same_thing_twice_is_flagged():
    text, label, supported, reason = verdicts("exts-02")[0]
    assert text == "The field ‘NAMESPACE’ should be listed in the ‘NAMESPACE’ field."
    assert (label, supported, reason) == ("wrong", False, "says the same thing twice")


def test_install_packages_spelled_wrong_or_with_an_invented_version_is_flagged():
    passage = "Packages can be installed from CRAN with install.packages()."
    assert missing_terms("Call `install_packages()` to install it.", passage) == [
        "install_packages"
    ]
    assert missing_terms("Call install.packages() to install it.", passage) == []
    assert missing_terms(
        "The `install.packages()` function is available in all R versions, including R 3.0.0.",
        passage,
    ) == ["3.0.0"]


def test_lead_ins_and_code_comments_are_not_claims():
    assert not is_claim("Here is an example of how to use it:")
    assert not is_claim("# Using the `lucene` package")
    assert is_claim("Here is an example of how to use it:", lead_ins=False)


def test_a_draft_with_a_failed_claim_says_how_many_and_why():
    row, sources = labelled("exts-02")
    checked = attribute(row["answer"], sources, HashEmbedder(), threshold=0.0)
    assert draft_problem(checked) == (
        "1 of its 2 statements failed the source check (says the same thing twice)"
    )
    assert draft_problem(attribute(INSTALL, SOURCES, HashEmbedder(), threshold=0.0)) == ""
