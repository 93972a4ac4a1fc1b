"""GGUF models: find the ones on this machine (GPT4All's included) and pull new ones.

- :mod:`~gpt4all_rag.models.discovery`: the models folder, the bundled SmolLM2 and
  GPT4All's folders, each file with its size and the chat format it will get;
- :mod:`~gpt4all_rag.models.catalogue`: GPT4All's ``models3.json`` catalogue and
  this machine's memory;
- :mod:`~gpt4all_rag.models.pull`: a resumable, checksum-checked download;
- :mod:`~gpt4all_rag.models.network`: where those may connect (https, public
  addresses, checked at every redirect);
- :mod:`~gpt4all_rag.llm.gguf_header`: a GGUF header reader that loads no model.

Only the catalogue fetch and the pull use the network, and only when asked.
"""
