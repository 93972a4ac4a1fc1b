"""Stop an answer that starts repeating itself.

Small models loop: the right sentence, then the same sentence ten more times.
:class:`RepetitionGuard` wraps any token stream (llama-cpp, an OpenAI-compatible
server, a scripted fake) and ends it at the first repeat: a sentence seen
before (compared after normalising case, punctuation and citation markers), or
a run of ``ngram`` words seen before (a loop inside one long sentence).

It streams with a small lag: text that might be the start of a repeat (the
current sentence while it is a prefix of an earlier one, or trailing words
that occurred earlier) is held back until it either diverges, and is yielded,
or repeats, and is dropped. So a looping answer ends at the end of its last
new sentence, and a legitimate one comes through unchanged. The decisions
depend only on the text, never on how it was split into tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from gpt4all_rag.trust.citations import CITATION_NUMBERS, OPEN_CITATION
from gpt4all_rag.trust.text import WORD

__all__ = ["RepetitionGuard"]

# A citation marker is not a word (it may repeat freely); a "[" still open at the end of
# the text may become one, so nothing after it is decided yet.
_TOKEN = re.compile(
    rf"(?P<marker>\[{CITATION_NUMBERS}\])|(?P<open>{OPEN_CITATION})|(?P<word>{WORD.pattern})"
)
# The end of a sentence inside the gap between two words: terminal punctuation (then any
# closing quotes, brackets and markers) followed by white space, or a line break.
_GAP_END = re.compile(
    rf"^[^\n.!?]*?(?:[.!?]+[\"')\]]*(?:\s*\[{CITATION_NUMBERS}\])*[.!?]?(?=\s)|(?=\n))"
)
_JOINERS = ".:$@"
# A piece of 2-40 characters (with a letter) repeated at least five times in a row, at the end.
_STUTTER = re.compile(r"(.{2,40}?)\1{4,}\Z", re.DOTALL)
_STUTTER_SPAN = 400


def _loop_piece(piece: str) -> bool:
    """Whether a piece repeated back to back is a loop, not a rule or a row of dots.

    A letter makes it one (``knitr::``); so do digits in a piece of three or more
    visible characters (``## 7.2`` on line after line); ``-----`` and ``. . .`` do not.
    """
    if re.search(r"[^\W\d_]", piece):
        return True
    return bool(re.search(r"\d", piece)) and len(piece.strip()) >= 3


class RepetitionGuard:
    """An iterator over a token stream that ends it when the text starts repeating.

    Args:
        tokens: the model's text pieces, split anywhere.
        ngram: a run of this many words seen before ends the stream.
        min_sentence_words: a repeated sentence ends the stream only if it has at
            least this many words (a repeated "Yes." is not a loop).

    Attributes:
        stopped: whether the stream was ended because it repeated itself.
        reason: why, in words (``None`` when not stopped).
    """

    def __init__(
        self, tokens: Iterable[str], *, ngram: int = 8, min_sentence_words: int = 3
    ) -> None:
        self._tokens = tokens
        self.ngram = ngram
        self.min_sentence_words = min_sentence_words
        self.stopped = False
        self.reason: str | None = None
        self._text = ""
        self._scanned = 0  # text before this index has been read into words
        self._emitted = 0  # text before this index has been yielded
        self._words: list[str] = []
        self._ends: list[int] = []  # where each word ends in the text
        self._seen: list[set[tuple[str, ...]]] = [set() for _ in range(ngram + 1)]
        self._match = 0  # trailing words that occurred earlier, in order
        self._sentence_start = 0  # index of the current sentence's first word
        self._sentence_char = 0  # where the current sentence starts in the text
        self._sentences: set[tuple[str, ...]] = set()
        self._prefixes: set[tuple[str, ...]] = set()
        self._finished = False  # the stream ended without a repeat: all of it is safe
        self._cut = 0  # where the yielded text ends once stopped

    @property
    def text(self) -> str:
        """Everything yielded so far (the whole answer once the iterator is done)."""
        return self._text[: self._emitted]

    def __iter__(self) -> Iterator[str]:
        for token in self._tokens:
            self._text += token
            self._check_stutter()
            if not self.stopped:
                self._scan(final=False)
            piece = self._release()
            if piece:
                yield piece
            if self.stopped:
                _close(self._tokens)
                return
        self._scan(final=True)
        piece = self._release()
        if piece:
            yield piece

    def _release(self) -> str:
        """The text that became safe since the last call."""
        end = self._cut if self.stopped else self._hold_point()
        end = max(self._emitted, end)
        piece = self._text[self._emitted : end]
        self._emitted = end
        return piece

    def _hold_point(self) -> int:
        """Where the text under suspicion starts: all before it can be yielded."""
        if self._finished:
            return len(self._text)
        if self._suspect_sentence():
            return self._sentence_char
        first_suspect = len(self._words) - self._match
        end = self._ends[first_suspect - 1] if first_suspect > 0 else 0
        return max(end, self._sentence_char)

    def _suspect_sentence(self) -> bool:
        """Whether the current sentence so far is how an earlier sentence began."""
        return tuple(self._words[self._sentence_start :]) in self._prefixes

    def _scan(self, *, final: bool) -> None:
        """Read the words that are complete, checking each sentence and run of words."""
        for match in _TOKEN.finditer(self._text, self._scanned):
            if match.group("open") is not None and not final:
                return
            if match.group("word") is None:
                continue
            if not final and not _complete(self._text, match.end()):
                return
            self._gap(self._text[self._scanned : match.start()], self._scanned, final=False)
            if not self.stopped:
                self._word(match.group("word").lower(), match.end())
            if self.stopped:
                return
            self._scanned = match.end()
        if final:
            self._gap(self._text[self._scanned :] + "\n", self._scanned, final=True)
            self._finished = not self.stopped

    def _gap(self, gap: str, at: int, *, final: bool) -> None:
        """Text between two words: if it ends the current sentence, check that sentence.

        At the end of the stream, a last sentence that is only the beginning of an
        earlier one (a loop cut short by the token limit) is dropped too.
        """
        end = _GAP_END.match(gap)
        sentence = tuple(self._words[self._sentence_start :])
        if end is None or not sentence:
            return
        if len(sentence) >= self.min_sentence_words and sentence in self._sentences:
            self._stop("repeated sentence")
            return
        unfinished = final and not re.search(r"[.!?]", end.group(0))
        if unfinished and len(sentence) >= 2 and sentence in self._prefixes:
            self._stop("repeated sentence (cut short)")
            return
        self._sentences.add(sentence)
        self._prefixes.update(sentence[:n] for n in range(1, len(sentence) + 1))
        self._sentence_start = len(self._words)
        self._sentence_char = at + end.end()

    def _word(self, word: str, end: int) -> None:
        """Add a word; stop if the last ``ngram`` words occurred earlier."""
        self._words.append(word)
        self._ends.append(end)
        count = len(self._words)
        match = min(self._match + 1, self.ngram, count)
        while match and tuple(self._words[count - match :]) not in self._seen[match]:
            match -= 1
        self._match = match
        if match >= self.ngram:
            repeated = "sentence" if self._suspect_sentence() else f"{self.ngram}-word sequence"
            self._stop(f"repeated {repeated}")
            return
        for n in range(1, min(self.ngram, count) + 1):
            self._seen[n].add(tuple(self._words[count - n :]))

    def _check_stutter(self) -> None:
        """Stop a piece of text repeated back to back (``knitr::knitr::knitr::…``).

        Such a loop can stay inside one "word" (an identifier never ends), where the
        sentence and n-gram checks never see it; one copy is kept.
        """
        # From before what was yielded: a loop of whole lines is yielded line by line.
        match = _STUTTER.search(self._text, max(0, len(self._text) - _STUTTER_SPAN))
        if match is None or not _loop_piece(match.group(1)):
            return
        period, start = len(match.group(1)), match.start()
        while start > 0 and self._text[start - 1] == self._text[start - 1 + period]:
            start -= 1  # the run may have begun before the part searched
        self._cut = max(self._emitted, start + period)
        self.stopped = True
        self.reason = "repeated text"

    def _stop(self, reason: str) -> None:
        """End the stream; what is yielded ends where the suspicion began."""
        self._cut = self._hold_point()
        self.stopped = True
        self.reason = reason


def _complete(text: str, end: int) -> bool:
    """Whether the word ending at ``end`` is complete.

    ``install.`` at the end of the text may still become ``install.packages``.
    """
    rest = text[end:]
    return bool(rest.lstrip(_JOINERS)) if rest else False


def _close(tokens: Iterable[str]) -> None:
    """Close a generator we stopped reading, so the backend stops generating."""
    close = getattr(tokens, "close", None)
    if callable(close):
        close()
