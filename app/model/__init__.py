"""The document model: label maps, label sets, styles and edits (no Qt, no torch)."""
