"""Answering a question: prompts, the question flow, follow-ups, the checks and the Asker."""
