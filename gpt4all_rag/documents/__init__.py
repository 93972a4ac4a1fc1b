"""Working with indexed documents: pages, summaries, exports, feedback, uploads, the trash."""
