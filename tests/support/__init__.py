"""Builders shared by tests (imported explicitly, never through conftest)."""
