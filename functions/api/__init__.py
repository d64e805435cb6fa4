"""The HTTP API: one FastAPI app factory; each route group is its own router."""
