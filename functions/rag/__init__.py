"""Retrieval-augmented generation: embedders, vector stores, retrieval, prompts, chat models."""
