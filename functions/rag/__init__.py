"""Retrieval-augmented generation: the query use case (retrieval, follow-ups, prompts, streaming)
over three model-layer subpackages: `embeddings`, `stores` and `chat_models`."""
