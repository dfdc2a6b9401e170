"""The WSGI entry point gunicorn imports in each worker: ``gunicorn service.wsgi:app``.

Settings come from the environment (MIGSTAT_DATABASE_URL, MIGSTAT_ROOT, ...), read
when this module is imported by a worker, not by the rest of the code.
"""

from .app import create_app

app = create_app()
