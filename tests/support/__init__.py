"""Builders shared by several test packages (imported explicitly, never from conftest)."""
