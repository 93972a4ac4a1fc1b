"""Summarize one indexed document: a map-reduce over its chunks with the local model.

A document is usually longer than the model's context, so it is summarized in
steps that each fit it (``mapreduce``). Pages: the model is asked to cite pages as
``[p. N]``, and a citation of a page that the step did not read is removed
(``citations``); every section also keeps the pages it was written from
(``results``). Every sentence is checked against the chunks it summarizes, as an
answer's are (``checking``), and what the model must not write (HTML tags, index
rows) is left out (``hygiene``). A finished summary is cached under
``<index>/summaries/``, keyed by the file's content hash, the model and the summary
settings (``cache``). The text comes back from the index, never from the file
(``document``).
"""
