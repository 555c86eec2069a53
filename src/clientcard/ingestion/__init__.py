"""Ingestion from channel platforms: a use case above the domains it spans."""
