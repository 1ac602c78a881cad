"""Use cases that change state. Each owns its transaction and raises visits.errors."""
