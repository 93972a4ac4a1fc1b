"""The language model that writes the answers.

- :mod:`~gpt4all_rag.llm.protocol`: the :class:`LLMBackend` protocol (a leaf);
- :mod:`~gpt4all_rag.llm.factory`: the one backend table, :func:`build_llm`;
- :mod:`~gpt4all_rag.llm.llama_cpp`: a GGUF in process, behind one ``ModelCache``;
- :mod:`~gpt4all_rag.llm.openai_compatible`: an OpenAI-compatible server;
- :mod:`~gpt4all_rag.llm.scripted`: the scripted fake;
- :mod:`~gpt4all_rag.llm.chat_formats`, :mod:`~gpt4all_rag.llm.gguf_header`,
  :mod:`~gpt4all_rag.llm.control_tokens`, :mod:`~gpt4all_rag.llm.prompt_prefix`,
  :mod:`~gpt4all_rag.llm.f16_copy`: what the llama.cpp backend needs of a GGUF.

Importing this package imports nothing: each backend imports its library when
it is first built.
"""
