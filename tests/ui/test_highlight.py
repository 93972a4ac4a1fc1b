"""Highlighting: whole words and stems, never prefixes of other words, never stop words."""

from __future__ import annotations

from gpt4all_rag.ui.highlight import highlight_html, highlight_terms


def marked(html: str) -> list[str]:
    import re

    return re.findall(r"<mark><b>(.*?)</b></mark>", html)


def test_call_never_marks_callaway_but_marks_its_inflections():
    html = highlight_html("Callaway called; we call it a recall or a callback. Calls too.", "call")
    assert marked(html) == ["called", "call", "Calls"]


def test_stems_match_installing_for_install():
    html = highlight_html(
        "Installing packages: the installer installs it.", "How do I install a package?"
    )
    assert marked(html) == ["Installing", "packages", "installer", "installs"]


def test_stop_words_and_question_words_are_not_marked():
    assert highlight_terms("What is the function that you should use?") == frozenset({"function"})
    html = highlight_html("What is the function of this?", "what is the function")
    assert marked(html) == ["function"]


def test_identifiers_are_marked_whole_or_by_their_parts():
    text = "Use install.packages() or installed.packages()."
    assert marked(highlight_html(text, "What does install.packages do?")) == ["install.packages"]
    by_parts = highlight_html(text, "how to install packages")
    assert by_parts == (
        "Use <mark><b>install</b></mark>.<mark><b>packages</b></mark>() or "
        "<mark><b>installed</b></mark>.<mark><b>packages</b></mark>()."
    )


def test_everything_else_is_escaped():
    html = highlight_html('<script>alert("x")</script> & call <b>', "call script")
    assert html == (
        "&lt;<mark><b>script</b></mark>&gt;alert(&quot;x&quot;)&lt;/<mark><b>script</b></mark>&gt; "
        "&amp; <mark><b>call</b></mark> &lt;b&gt;"
    )


def test_no_terms_means_only_escaping():
    assert highlight_html("a < b and the rest", "what is it?") == "a &lt; b and the rest"
