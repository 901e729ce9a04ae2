"""WSGI entry point: gunicorn procsite.wsgi (PYTHONPATH=src)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procsite.settings")

application = get_wsgi_application()
