"""Importing a single-store database into a chain database, every row and id kept."""
