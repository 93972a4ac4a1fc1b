"""Any server that speaks OpenAI's ``/v1/chat/completions`` with streaming.

For example ``python -m llama_cpp.server``, llama.cpp's ``llama-server``, Ollama
or vLLM. Only the URL the user configures is contacted, directly: proxy
variables in the environment are ignored (they would route prompts through a
corporate proxy, loopback included), an API key never travels over plain http
to another machine, and a URL is shown without its credentials.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from gpt4all_rag.errors import LLMError
from gpt4all_rag.llm.protocol import Sampling
from gpt4all_rag.types import Message

__all__ = ["OpenAICompatibleBackend", "is_loopback_host", "redact_url"]

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def redact_url(url: str) -> str:
    """``url`` without user, password, query or fragment: safe to show or log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_base_url(base_url: str, has_key: bool) -> str:
    """``base_url`` without a trailing slash; LLMError if it is no http URL or would leak a key."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMError(
            f"not an http(s) URL for an OpenAI-compatible server: {redact_url(base_url)!r}"
        )
    credentials = has_key or parts.username or parts.password
    if credentials and parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise LLMError(
            f"refusing to send credentials over plain http to {parts.hostname}: "
            "use an https URL, or a server on this machine"
        )
    return base_url.rstrip("/")


def _error_detail(body: bytes) -> str:
    """The readable part of an error reply: its ``error.message``, else its text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:300]
    if isinstance(error, dict):
        return str(error.get("message", error))[:300]
    return str(error or text)[:300]


def _delta_content(data: str, url: str) -> str | None:
    """The text of one streamed ``chat.completion.chunk`` event, if it has any."""
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise LLMError(f"{url} sent a stream event that is not JSON: {data[:200]!r}") from exc
    if not isinstance(event, dict):
        raise LLMError(f"{url} sent an unexpected stream event: {data[:200]!r}")
    if event.get("error"):
        raise LLMError(f"{url} reported an error: {event['error']}")
    choices = event.get("choices") or []
    content = (choices[0].get("delta") or {}).get("content") if choices else None
    return content if isinstance(content, str) else None


def _sse_pieces(lines: Iterable[str], url: str) -> Iterator[str]:
    """Yield the non-empty text pieces of a server-sent event stream up to ``[DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, "event:" and "id:" fields
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        piece = _delta_content(data, url)
        if piece:
            yield piece
    raise LLMError(
        f"{url} ended the answer without [DONE]: the server dropped it (is "
        "GPT4ALL_RAG_CONTEXT_SIZE larger than the server's context window?)"
    )


class OpenAICompatibleBackend:
    """A chat model behind an OpenAI-compatible HTTP server.

    Raises:
        LLMError: At construction, when the URL is not http(s), or would send
            the key or URL credentials over plain http to another machine.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: SecretStr | str | None = None,
        context_size: int = 4096,
        timeout: float = 120.0,
        sampling: Sampling | None = None,
    ) -> None:
        self._sampling = sampling or Sampling()
        key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._api_key = key if key is not None and key.get_secret_value() else None
        self._base_url = _checked_base_url(base_url, self._api_key is not None)
        self._shown_url = redact_url(self._base_url)
        self._model = model
        self._context_size = context_size
        self._timeout = timeout

    @property
    def name(self) -> str:
        """``openai:<model>@<base_url>``, the URL without credentials."""
        return f"openai:{self._model}@{self._shown_url}"

    @property
    def context_size(self) -> int:
        """The context window the server is assumed to have."""
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """Estimate ``text``'s tokens as one per three characters, rounded up.

        The server's tokenizer is unknown here; real tokenizers average three to
        four characters a token on prose, so this errs towards too many.
        """
        return math.ceil(len(text) / 3)

    def _request(
        self, messages: list[Message], max_tokens: int, temperature: float, stop: list[str] | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON body and headers of one streamed chat completion."""
        body: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            # top_p is OpenAI's; the others are llama.cpp server extensions that
            # Ollama and vLLM also read (a server ignores what it does not know).
            **asdict(self._sampling),
        }
        if stop:
            body["stop"] = stop
        headers = {}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return body, headers

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Stream the server's answer to ``messages``.

        Raises:
            LLMError: The server cannot be reached, times out, answers with an
                HTTP error or sends a reply that is not a chat completion stream.
        """
        import httpx  # httpx: on first request only

        url, shown = f"{self._base_url}/chat/completions", f"{self._shown_url}/chat/completions"
        body, headers = self._request(messages, max_tokens, temperature, stop)
        try:
            # trust_env=False: no HTTP(S)_PROXY, no .netrc; only the configured server.
            with (
                httpx.Client(trust_env=False, timeout=self._timeout) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                if response.is_error:
                    detail = _error_detail(response.read())
                    raise LLMError(f"{shown} answered HTTP {response.status_code}: {detail}")
                yield from _sse_pieces(response.iter_lines(), shown)
        except httpx.TimeoutException as exc:
            raise LLMError(f"{shown} did not answer within {self._timeout:g} s") from exc
        except httpx.ConnectError as exc:
            raise LLMError(f"cannot reach the model server at {shown}: {self._safe(exc)}") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"{shown}: {type(exc).__name__}: {self._safe(exc)}") from exc

    def _safe(self, exc: Exception) -> str:
        """An exception's text with the configured URL shown without its credentials."""
        return str(exc).replace(self._base_url, self._shown_url)
