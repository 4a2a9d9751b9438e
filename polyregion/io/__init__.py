"""Importers and on-disk formats."""
