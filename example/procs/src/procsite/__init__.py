"""The processes example: a Django site whose view enqueues a celery task."""
from procsite.celery import app as celery_app

__all__ = ["celery_app"]
