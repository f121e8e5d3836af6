from django.urls import path

from .views import live, panel, telephony

app_name = "callcentre"

urlpatterns = [
    path("", panel.panel, name="panel"),
    path("call/<id:pk>/", panel.call_detail, name="call"),
    path("call/<id:pk>/outcome/", panel.outcome, name="outcome"),
    path("call/<id:pk>/answer/", panel.answer, name="answer"),
    path("call/<id:pk>/called-back/", panel.callback_done, name="callback-done"),
    path("find/", panel.find, name="find"),
    path("<slug:kind>/<id:pk>/", panel.subject, name="subject"),
    path("<slug:kind>/<id:pk>/hold/", panel.hold, name="hold"),
    path("<slug:kind>/<id:pk>/note/", panel.note, name="note"),
    path("<slug:kind>/<id:pk>/task/", panel.task, name="task"),
    path("<slug:kind>/<id:pk>/visit/", panel.visit, name="visit"),
    path("<slug:kind>/<id:pk>/transfer/", panel.transfer, name="transfer"),
    path("live/", live.stream, name="live"),
    path("live/poll/", live.poll, name="live-poll"),
    path("telephony/<slug:code>/", telephony.telephony_event, name="telephony"),
    path(
        "telephony/<slug:code>/events/<slug:what>",
        telephony.telephony_event,
        name="telephony-mango",
    ),
]
