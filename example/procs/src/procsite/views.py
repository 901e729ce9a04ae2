"""Views that enqueue the task and show its result, through the web process."""
from django.http import JsonResponse

from procsite.celery import report


def enqueue(request):
    task = report.delay(float(request.GET.get("s", "0")))
    return JsonResponse({"id": task.id})


def result(request):
    task = report.AsyncResult(request.GET["id"])
    return JsonResponse({"state": task.state, "result": task.result if task.successful() else None})
