"""The WSGI entry point gunicorn loads: the only module-level app."""

from . import create_app

app = create_app()
