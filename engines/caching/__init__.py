"""Content-keyed caches: array digests, the LRU every engine uses, the loaded-engine cache."""
