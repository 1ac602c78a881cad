"""Priyom core: the domain of in-person visits. Knows nothing of Flask (except visits.web)."""
