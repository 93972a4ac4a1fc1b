"""The cited page, seen: a PDF page rendered with the passage marked, or a passage in context.

A source names a file, a page and a passage. For a PDF the page is rendered to a PNG
and the passage marked where it is on it; for other files the text before and after
the passage comes from the neighbouring chunks of the index.

- ``render``: ``PageRenderer``, which renders a page in a limited child
  process through the cache, and the errors and results it gives.
- ``child``: the child process itself (``python -m gpt4all_rag.documents.pages.child``):
  PDFium renders the page and boxes its words, pypdf reads its text.
- ``cache``: rendered pages kept under the index folder, bounded in bytes.
- ``locate``: the passage found among the page's words, and marked on the picture.
- ``context``: the passage with the text around it, for files without pages to show.
"""
