"""Attribution and the grounding check with the hash embedder."""

from __future__ import annotations

from gpt4all_rag.answer import Source
from gpt4all_rag.grounding import SentenceSupport, attribute, is_claim, with_markers
from gpt4all_rag.testing import HashEmbedder, ScriptedLLM

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
