"""Grounded decoding: a copy bias toward the tokens of the prompt's sources (issue 25, item 6).

A small model spells identifiers its passages do not hold (``install-package(system)``).
:class:`CopyBias` is a llama-cpp-python logits processor that adds ``bias`` to the logit
of every token found in the source text, and of every token that is always fine to write
(punctuation, digits, whitespace, common function words, control tokens such as the end
of turn), so that a token foreign to the sources must beat the others by ``bias`` to be
drawn. Inside an identifier (a backticked span, or right after ``_``, ``.``, ``(``, ``::``
or ``$``) the tokens that follow the previous token somewhere in the sources get ``bias``
once more, so a name is continued as the sources spell it.

Everything here works on token ids and token texts: the model's tokenizer is used only by
:func:`source_token_ids` through a callable, so the rules are tested without a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "COMMON_WORDS",
    "CopyBias",
    "SourceTokens",
    "VocabTable",
    "llama_copy_bias",
    "llama_vocab_table",
    "source_text",
    "source_token_ids",
]

# Words any answer may use whether or not a passage does (with their capitalised forms).
_COMMON_WORDS = (
    "a an the and or but not no nor if then else so as of in on at to for from by with "
    "without into onto over under about between through than that this these those there "
    "here it its it's is are was were be been being do does did done has have had having "
    "can could may might must should would will shall which who whom whose what when "
    "where why how all any each every some such other only also more most less very one "
    "two you your we our they their them he she his her i me my passage passages document "
    "documents source sources answer question contain contains say says said see use used "
    "using example for following yes "
)
COMMON_WORDS = frozenset(_COMMON_WORDS.split())

# A piece after which the next one continues a name: `pkg::fun`, `x$y`, `a.b`, `f(`, `a_b`.
_IDENTIFIER_JOINS = ("_", ".", "(", "::", "$")
_WORD = re.compile(r"[\w.:$-]+")
_PASSAGE_TAG = re.compile(r"</?passage\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class VocabTable:
    """What the bias needs to know of a model's vocabulary, read once per model.

    Attributes:
        allowed: True for tokens that are never penalised (no letter in them, a common
            word, a control token).
        ticks: how many backticks each token's text holds (to tell a code span).
        joins: True for tokens whose text ends in an identifier joint (``_``, ``.``...).
    """

    allowed: npt.NDArray[np.bool_]
    ticks: npt.NDArray[np.int8]
    joins: npt.NDArray[np.bool_]

    @classmethod
    def from_pieces(cls, pieces: Sequence[str], control: Iterable[int] = ()) -> VocabTable:
        """The table of a vocabulary given as each token's text, in id order."""
        allowed = np.fromiter((_always_allowed(p) for p in pieces), bool, len(pieces))
        allowed[np.fromiter(control, np.int64)] = True
        ticks = np.fromiter((min(p.count("`"), 100) for p in pieces), np.int8, len(pieces))
        joins = np.fromiter((p.endswith(_IDENTIFIER_JOINS) for p in pieces), bool, len(pieces))
        return cls(allowed, ticks, joins)

    @property
    def size(self) -> int:
        """The number of tokens."""
        return len(self.allowed)


def _always_allowed(piece: str) -> bool:
    word = piece.strip()
    return not any(c.isalpha() for c in word) or word.lower() in COMMON_WORDS


@dataclass(frozen=True)
class SourceTokens:
    """The sources as token ids: the set found in them and what follows each one."""

    ids: frozenset[int]
    successors: dict[int, npt.NDArray[np.int64]]

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[int]]) -> SourceTokens:
        """The tokens of ``sequences`` (the sources tokenized) and each token's successors."""
        ids: set[int] = set()
        follow: dict[int, set[int]] = {}
        for sequence in sequences:
            ids.update(sequence)
            for before, after in zip(sequence, sequence[1:], strict=False):
                follow.setdefault(before, set()).add(after)
        successors = {t: np.fromiter(sorted(s), np.int64, len(s)) for t, s in follow.items()}
        return cls(frozenset(ids), successors)


def source_text(user_turn: str) -> str:
    """The user turn without the prompt's ``<passage n=.. file=..>`` tags.

    The file names in the tags are not text of the sources: boosted, they made the
    model write ``R-exts.pdf`` as a package name more often (docs/benchmarks.md).
    """
    return _PASSAGE_TAG.sub(" ", user_turn)


def source_token_ids(text: str, tokenize: Callable[[str], list[int]]) -> SourceTokens:
    """The tokens of ``text`` as written, and of each of its words alone and after a space.

    A word's tokens depend on what precedes it (``" mean"`` and ``"mean"`` are two
    tokens), so each word is also tokenized at a sentence start and mid-sentence.
    """
    words = sorted(set(_WORD.findall(text)))
    sequences = [tokenize(text)]
    sequences += [tokenize(w) for w in words] + [tokenize(" " + w) for w in words]
    return SourceTokens.from_sequences(sequences)


class CopyBias:
    """A logits processor: ``bias`` more for the sources' tokens and the always-allowed ones.

    Built for one answer: its first call sees the prompt alone, so the tokens after that
    length are the ones generated (where a backticked span is counted).

    Args:
        vocab: the model's :class:`VocabTable`.
        sources: the prompt's sources as :class:`SourceTokens`.
        bias: the logit added; 0 leaves every score as it is.
    """

    def __init__(self, vocab: VocabTable, sources: SourceTokens, bias: float) -> None:
        self.bias = float(bias)
        boost = vocab.allowed.copy()
        in_vocab = [t for t in sources.ids if 0 <= t < vocab.size]
        boost[np.asarray(in_vocab, np.int64)] = True
        self._boost = (boost * np.float32(self.bias)).astype(np.float32)
        self._vocab = vocab
        self._successors = sources.successors
        self._start: int | None = None
        self._seen = 0
        self._ticks = 0

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        """The scores with the bias added (a new array; ``scores`` is left as it is)."""
        if self.bias == 0.0:
            return scores
        n = len(scores)
        out = scores + self._boost[:n] if n <= len(self._boost) else self._padded(scores)
        self._count_ticks(input_ids)
        if len(input_ids) and self._in_identifier(int(input_ids[-1])):
            follow = self._successors.get(int(input_ids[-1]))
            if follow is not None:
                follow = follow[follow < n]
                out[follow] += np.float32(self.bias)
        return out

    def _padded(self, scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        out = np.array(scores, dtype=np.float32)
        out[: len(self._boost)] += self._boost
        return out

    def _count_ticks(self, input_ids: npt.NDArray[np.intc]) -> None:
        if self._start is None:
            self._start = self._seen = len(input_ids)
        new = np.asarray(input_ids[self._seen :], np.int64)
        new = new[(new >= 0) & (new < self._vocab.size)]
        self._ticks += int(self._vocab.ticks[new].sum())
        self._seen = len(input_ids)

    def _in_identifier(self, last: int) -> bool:
        """Inside a backticked span of the answer, or right after an identifier joint."""
        if self._ticks % 2 == 1:
            return True
        return 0 <= last < self._vocab.size and bool(self._vocab.joins[last])


def llama_vocab_table(llm: Any) -> VocabTable:
    """The :class:`VocabTable` of a loaded ``llama_cpp.Llama`` (about 0.1 s for 49k tokens)."""
    import llama_cpp  # llama.cpp: on use only

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    size = llama_cpp.llama_vocab_n_tokens(vocab)
    control = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
    pieces = [llm.detokenize([t]).decode("utf-8", errors="replace") for t in range(size)]
    specials = [t for t in range(size) if llama_cpp.llama_vocab_get_attr(vocab, t) & control]
    return VocabTable.from_pieces(pieces, [*specials, llm.token_eos()])


def llama_copy_bias(llm: Any, vocab: VocabTable, source_text: str, bias: float) -> CopyBias:
    """A :class:`CopyBias` toward ``source_text`` for one answer of ``llm``."""

    def tokenize(text: str) -> list[int]:
        return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return CopyBias(vocab, source_token_ids(source_text, tokenize), bias)
