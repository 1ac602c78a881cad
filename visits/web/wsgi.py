"""WSGI entry point: `gunicorn visits.web.wsgi:application`."""

from visits.web.app import create_app, setup_logging

setup_logging()
application = create_app()
