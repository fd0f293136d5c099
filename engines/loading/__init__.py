"""The load pipeline every engine shares: locate files, read options and weights, check, fold."""
