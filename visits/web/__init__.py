"""The web shell: create_app(), auth, device pairing, htmx helper, base templates, CLI."""

from visits.web.app import create_app

__all__ = ["create_app"]
