"""The WSGI entry point for gunicorn: ``registry.wsgi:app``."""

from registry import create_app

app = create_app()
