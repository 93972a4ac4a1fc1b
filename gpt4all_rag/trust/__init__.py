"""What makes an answer trustworthy: citations, sentences, evidence, focus, grounding, the guard."""
