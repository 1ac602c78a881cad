"""Benchmark: a busy day replayed against the real server (`make bench`)."""
