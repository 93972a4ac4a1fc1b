"""Files to chunks: loaders by extension, token-sized chunking, incremental sync into a store.

Where things are:

- ``loaders/``: one module per format family and the extension table (``LOADERS``);
  ``isolated`` parses in a worker process with a memory limit and a timeout.
- ``chunking``: token-sized chunks and their deterministic ids.
- ``scan``, ``plan``: list the folder, then decide (a pure function) what to add,
  replace, move, copy and delete.
- ``prepare``, ``reuse``, ``writer``: parse and chunk ahead; reuse stored vectors for
  moved and copied files; write chunks in the one crash-safe order.
- ``manifest``, ``lock``, ``index_folder``: the commit log, the single-writer lock,
  and the checks that an index folder is ours.
- ``batches``, ``guards``, ``report``: write the parsed files in bounded slices; refuse
  what would wreck an index; say what a sync did and how far it is.
- ``pipeline``: ``Indexer.sync``, which only orchestrates the above.
- ``watch``, ``watch_pending``, ``watch_record``: follow a folder's file events.
- ``atomic``, ``sandbox``: whole-file writes; a parsing child's environment and memory cap.

``ingest`` may import ``vectorstore`` (the chunk record in ``vectorstore.schema``), never
``gpt4all_rag``.
"""
