"""WSGI entry point: `gunicorn visits.web.wsgi:application`."""

from visits.settings import settings_load
from visits.web.app import create_app, setup_logging

settings = settings_load()
setup_logging(settings.log_level)
application = create_app(environment=settings)
