"""A user's right to erasure and the retention of everyone's data, across every store that keeps them."""
