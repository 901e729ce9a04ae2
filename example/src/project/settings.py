"""Settings of the example app: everything that varies comes from os.environ,
which runapp fills from .env (the twelve-factor way)."""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

# The views need neither a database nor sessions: no migrations to run before
# the app can serve. DATABASE_URL is only shown, to prove it arrived.
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}

USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
