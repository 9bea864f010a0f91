"""Catalog search (fast keyword, typo tolerance, synonyms, facets, availability ranking, hybrid
semantic search) and versioned product content. See docs/search.md."""
