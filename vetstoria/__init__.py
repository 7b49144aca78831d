"""Vetstoria partner-API client and the sandbox clinic that serves the same API locally.

Knows nothing of voice or Qt."""
