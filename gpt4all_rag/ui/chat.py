"""The conversation: its turns as first shown, the question box, the streamed answer.

A question goes into a queue and is answered from there, one at a time. The
evidence is shown at once, then the answer as the model writes it, rendered by
``safe_markdown`` (nothing in it can load a remote image or follow a link).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import streamlit as st

from gpt4all_rag.answer import Answer
from gpt4all_rag.answering.asking import Asker
from gpt4all_rag.answering.flow import EvidenceEvent, TokenEvent
from gpt4all_rag.documents.export import conversation_json, conversation_markdown
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.markdown import safe_markdown
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.ui.collections_panel import Asked, source_owner
from gpt4all_rag.ui.feedback_panel import save_rating
from gpt4all_rag.ui.persist import save_conversation
from gpt4all_rag.ui.render import (
    ShownAnswer,
    answer_error,
    evidence_markdown,
    rendered_stream,
    shown_answer,
)
from gpt4all_rag.ui.resources import feedback_store
from gpt4all_rag.ui.settings_panel import Choices
from gpt4all_rag.ui.sources import source_expander
from gpt4all_rag.ui.state import chat_history, next_id

__all__ = [
    "DRAFT_NOTE",
    "EVIDENCE_CAPTION",
    "answer",
    "chat",
    "conversation_downloads",
    "queue_question",
    "show_answer_body",
    "show_answer_extras",
    "show_evidence",
    "show_message",
    "stream_answer",
]

EVIDENCE_CAPTION = "From your documents"
DRAFT_NOTE = "Draft by the model, not confirmed by your documents"


def chat(asker: Asked, choices: Choices, ready: bool) -> None:
    """The conversation so far, and the box for the next question.

    A question goes into a queue and is answered from there, one at a time. The box
    is disabled while an answer streams, so a second question cannot be typed and
    lost; one that arrives anyway (another way in) waits its turn in the queue.
    """
    for message in st.session_state.messages:
        show_message(message, asker)
    queued: list[str] = st.session_state.queued
    st.chat_input(
        "Ask a question about your documents" if ready else "Add documents to start",
        disabled=not ready or bool(queued),
        key="question",
        on_submit=queue_question,
    )
    if queued:
        st.session_state.answering = True
        try:
            answer(queued[0], asker, choices)
        finally:
            st.session_state.answering = False
        queued.pop(0)
        save_conversation(asker.model_name)
        st.rerun()  # the next queued question, or the box enabled again
    conversation_downloads(asker)


def queue_question() -> None:
    """The chat box's callback: queue the question it holds (blank ones are dropped)."""
    question = (st.session_state.get("question") or "").strip()
    if question:
        st.session_state.queued.append(question)


def show_message(message: dict[str, Any], asker: Asked) -> None:
    """A turn of the conversation, as it was first shown."""
    with st.chat_message(message["role"]):
        if message["role"] == "user":
            st.markdown(safe_markdown(message["content"]))
            return
        show_evidence(message.get("evidence", ()))
        if message.get("error"):
            st.error(message["error"])
            return
        show_answer_body(message["shown"])
        show_answer_extras(message, asker)


def answer(question: str, asker: Asked, choices: Choices) -> None:
    """Show the question, the evidence, the streamed answer, then its sources; keep them.

    The question and its answer are kept together at the end: an answer cut short by
    a rerun leaves nothing half-kept, and the question, still queued, is asked again.
    """
    history = chat_history()
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    message: dict[str, Any] = {"role": "assistant", "question": question, "id": next_id()}
    with st.chat_message("assistant"):
        try:
            result = stream_answer(asker, question, history, choices, message)
        except USER_ERRORS as exc:
            message.update(content="", answer=None, error=answer_error(exc))
            st.error(message["error"])
        else:
            message.update(content=result.text, answer=result, error=None)
            show_answer_extras(message, asker)
    st.session_state.messages += [{"role": "user", "content": question}, message]


def stream_answer(
    asker: Asker,
    question: str,
    history: list[dict[str, str]],
    choices: Choices,
    message: dict[str, Any],
) -> Answer:
    """Show the evidence at once, then the answer as the model writes it; return the answer.

    The evidence comes before the model loads, so it is on the page even if the
    model then fails. The streaming text is rendered by ``safe_markdown`` (nothing
    in it can load a remote image or follow a link), the whole of it again after
    each token; the finished answer is shown with its sentences flagged. Both are
    kept in ``message`` for the reruns.
    """
    evidence_box = st.container()
    finished: list[Answer] = []

    def tokens() -> Iterator[str]:
        events = asker.events(question, history=history, k=choices.k, mode=choices.mode)
        for event in events:
            if isinstance(event, EvidenceEvent):
                message["evidence"] = event.evidence
                with evidence_box:
                    show_evidence(event.evidence)
            elif isinstance(event, TokenEvent):
                yield event.text
            elif isinstance(event, Answer):
                finished.append(event)

    shown = st.empty()
    try:
        for markdown in rendered_stream(tokens()):
            shown.markdown(markdown)
    except BaseException:
        shown.empty()
        raise
    message["shown"] = shown_answer(finished[-1], choices.settings.resolved_answer_style())
    with shown.container():
        show_answer_body(message["shown"])
    return finished[-1]


def show_evidence(evidence: Sequence[Evidence]) -> None:
    """The quotes that answer the question, under a caption (nothing when there are none)."""
    if not evidence:
        return
    st.caption(EVIDENCE_CAPTION)
    st.markdown(evidence_markdown(evidence))


def show_answer_body(shown: ShownAnswer) -> None:
    """The finished answer's text and the notes under it; a draft under a line saying so.

    The quotes above it come first; a draft the check did not confirm is never
    presented as the answer.
    """
    if shown.draft and shown.markdown:
        st.caption(f"**{DRAFT_NOTE}:** {shown.draft}")
    if shown.markdown:
        st.markdown(shown.markdown)
    for note in shown.notes:
        st.caption(note)


def show_answer_extras(message: dict[str, Any], asker: Asked) -> None:
    """Under an answer: its sources, and the thumbs when feedback is on."""
    answer: Answer = message["answer"]
    if answer.found:
        for source in answer.sources:
            key = f"download-{message['id']}-{source.number}"
            owner = source_owner(asker, source)
            folder = owner.settings.documents_dir
            source_expander(source, message["question"], folder, key, owner)
    if st.session_state.get("feedback_on"):
        st.feedback(
            "thumbs",
            key=f"feedback-{message['id']}",
            on_change=save_rating,
            args=(message, feedback_store(asker.settings)),
        )


def conversation_downloads(asker: Asker) -> None:
    """Download the conversation with its sources (file and page), as Markdown or JSON."""
    answers = [m["answer"] for m in st.session_state.messages if m.get("answer") is not None]
    if not answers:
        return
    model = asker.model_name
    markdown, json_file = st.columns(2)
    markdown.download_button(
        "Export conversation (Markdown)",
        data=conversation_markdown(answers, model=model),
        file_name="conversation.md",
        mime="text/markdown",
        icon=":material/download:",
        key="export-markdown",
        on_click="ignore",
    )
    json_file.download_button(
        "Export conversation (JSON)",
        data=conversation_json(answers, model=model),
        file_name="conversation.json",
        mime="application/json",
        icon=":material/download:",
        key="export-json",
        on_click="ignore",
    )
