"""The ``gpt4all-rag`` command line: ``main`` in ``cli.main``, one module per command family."""
