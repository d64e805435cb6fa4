"""Training sets built from the runtime's interaction export: SFT chats, preference pairs, corpus."""
