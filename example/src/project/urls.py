from django.urls import path

from project import views

urlpatterns = [
    path("", views.index),
    path("slow", views.slow),
    path("pid", views.pid),
    path("async/slow", views.asleep),
]
