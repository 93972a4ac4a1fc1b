"""Files to chunks: loaders by extension, token-sized chunking, incremental sync into a store."""
