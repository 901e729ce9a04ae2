"""Settings of the processes example, from os.environ (runapp fills it from .env)."""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
ROOT_URLCONF = "procsite.urls"
WSGI_APPLICATION = "procsite.wsgi.application"
# jobs holds the management commands the timers run.
INSTALLED_APPS = ["jobs"]
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
