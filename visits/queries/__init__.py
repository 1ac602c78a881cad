"""Read-only selectors for screens and reports."""
