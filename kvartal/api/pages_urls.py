from django.urls import path

from . import pages

app_name = "integrations"

urlpatterns = [
    path("", pages.index, name="index"),
    path("tokens/new/", pages.token_create, name="token-create"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token-revoke"),
    path("webhooks/new/", pages.webhook_create, name="webhook-create"),
    path("webhooks/<int:pk>/", pages.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/edit/", pages.webhook_update, name="webhook-update"),
    path("deliveries/<int:pk>/replay/", pages.delivery_replay, name="delivery-replay"),
    path("statements/", pages.statement_upload, name="statement-upload"),
    path("statements/<int:pk>/", pages.statement_detail, name="statement"),
]
