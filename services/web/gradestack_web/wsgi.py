"""WSGI entry point for gunicorn: ``gunicorn gradestack_web.wsgi:app``.

Configuration errors (e.g. a missing SECRET_KEY outside local use) stop the worker at
import time with the message, which gunicorn prints before exiting.
"""

from gradestack_web.app import create_app
from gradestack_web.logs import configure_logging

configure_logging()
app = create_app()
