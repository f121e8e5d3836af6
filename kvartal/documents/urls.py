from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("", views.index, name="index"),
    path("deal/<id:pk>/", views.deal_documents, name="deal"),
    path("<id:pk>/sign/", views.sign, name="sign"),
    path("<id:pk>/<str:fmt>/", views.download, name="download"),
    path("signing/", views.signing, name="signing"),
]
