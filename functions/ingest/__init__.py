"""Ingestion: load, clean, redact PII, chunk, embed and index documents."""
