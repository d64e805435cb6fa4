"""Vector stores: the VectorStore port, the embedded index on disk, OpenSearch k-NN, and the
score fusion both share."""
