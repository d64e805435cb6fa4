"""Embedders: the Embedder port, MiniLM on the local CPU, and the models AWS serves (Bedrock
Titan, a SageMaker endpoint)."""
