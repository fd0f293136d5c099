"""What makes renders fast: fast mode, Winograd, region patterns, one-hot head, compile, memory."""
