from django.urls import path

from . import views

app_name = "clients"

urlpatterns = [
    path("clients/new/", views.client_create, name="client-create"),
    path("clients/pick/", views.client_pick, name="pick"),
    path("clients/<id:pk>/edit/", views.client_update, name="client-update"),
    path("clients/<id:pk>/contacts/new/", views.contact_add, name="contact-add"),
    path("clients/<id:pk>/people/new/", views.person_add, name="person-add"),
    path("clients/<id:pk>/consent/", views.consent_create, name="consent-create"),
    path("consents/<id:pk>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("clients/<id:pk>/reassign/", views.client_reassign, name="client-reassign"),
    path("clients/<id:pk>/merge/", views.client_merge, name="client-merge"),
    path("clients/<id:pk>/export.json", views.client_export, name="client-export"),
    path("clients/<id:pk>/erase/", views.client_erase, name="client-erase"),
    path("clients/<id:pk>/needs/", views.need_update, name="need-update"),
    path("clients/<id:pk>/interactions/new/", views.interaction_create, name="interaction-create"),
    path("tasks/", views.task_list, name="my-tasks"),
    path("tasks/new/", views.task_create, name="task-create"),
    path("tasks/<id:pk>/done/", views.task_done, name="task-done"),
    path("reception/", views.reception, name="reception"),
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/import/", views.lead_import, name="lead-import"),
    path("leads/<id:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<id:pk>/status/", views.lead_status, name="lead-status"),
    path("leads/<id:pk>/assign/", views.lead_assign, name="lead-assign"),
    path("leads/<id:pk>/convert/", views.lead_convert, name="lead-convert"),
]
