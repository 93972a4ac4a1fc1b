"""``python -m gpt4all_rag`` is the ``gpt4all-rag`` command."""

from gpt4all_rag.cli.main import main

raise SystemExit(main())
