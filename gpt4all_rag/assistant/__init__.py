"""The facades: one collection's DocumentAssistant, several collections' CollectionSet, watching."""
