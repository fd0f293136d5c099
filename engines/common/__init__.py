"""Helpers shared by the engines."""
