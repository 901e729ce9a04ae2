from django.urls import path

from procsite import views

urlpatterns = [path("enqueue", views.enqueue), path("result", views.result)]
