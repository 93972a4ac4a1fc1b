"""Random texts rich in backticks, brackets and addresses: nothing live may come out.

Each output is rendered by cmark-gfm, markdown-it with linkify, and remark-gfm's
autolink search (tests/helpers/markdown_renderers.py); the review of issue 21 found
leaks here that a single CommonMark renderer could not see.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gpt4all_rag.markdown import escape_text, safe_markdown
from tests.helpers.markdown_renderers import FUZZ_FRAGMENTS, live_parts

TEXTS = st.lists(st.sampled_from(FUZZ_FRAGMENTS), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_safe_markdown_of_random_text_is_inert(text: str) -> None:
    assert live_parts(safe_markdown(text)) == []


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_escape_text_of_random_text_is_inert(text: str) -> None:
    assert live_parts(escape_text(text)) == []


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_random_text_escaped_word_by_word_is_inert_at_every_word(text: str) -> None:
    # How a stream is escaped (gpt4all_rag/server): whole words, each on its own.
    words = re.findall(r"\S*\s*", text)
    shown = ""
    for word in words:
        shown += escape_text(word)
        assert live_parts(shown) == []

    assert shown == escape_text(text)
