"""SEAN (ZPdesu/SEAN): semantic region-adaptive normalisation with per-region style codes."""
