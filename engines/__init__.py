"""Rendering engines: the contract (base.py), shared layers (common/) and one folder per engine."""
