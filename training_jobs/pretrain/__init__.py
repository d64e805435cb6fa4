"""Pretraining from scratch: byte-level BPE tokenizer, Llama-style model, torchrun loop."""
