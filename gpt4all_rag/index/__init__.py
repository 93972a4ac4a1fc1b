"""The index on disk: embedders, retrieval wiring, the collections registry, status."""
