"""Results on disk: the record type, the JSONL file, run metadata, merging."""
