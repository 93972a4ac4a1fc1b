"""Ingest on a Ray cluster: the nodes parse, chunk and embed; the driver alone writes."""
