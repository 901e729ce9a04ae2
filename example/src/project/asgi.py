"""ASGI entry point: uvicorn, hypercorn or daphne project.asgi:application
(PYTHONPATH=src), or gunicorn -k uvicorn.workers.UvicornWorker project.asgi:application."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

application = get_asgi_application()
