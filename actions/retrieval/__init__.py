"""Hybrid retrieval over guide passages: BM25 on normalised Vietnamese fused with dense embeddings."""
