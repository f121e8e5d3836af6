"""The showcase in the back office (``/app/showcase/``): the marketer's settings and the
manager's calculator. A namespace of its own, apart from the public ``showcase`` one, so the
URL × role walk covers these pages like every other back-office page."""

from django.urls import path

from . import office

app_name = "showcase-office"

urlpatterns = [
    path("", office.settings_home, name="home"),
    path("projects/<id:project_id>/", office.project_edit, name="project"),
    path("programmes/new/", office.programme_edit, name="programme-new"),
    path("programmes/<id:pk>/", office.programme_edit, name="programme"),
    path("plans/new/", office.plan_edit, name="plan-new"),
    path("plans/<id:pk>/", office.plan_edit, name="plan"),
    path("experiments/new/", office.experiment_edit, name="experiment-new"),
    path("experiments/<id:pk>/", office.experiment_edit, name="experiment"),
    path("units/<id:unit_id>/terms/", office.unit_terms, name="terms"),
    path("units/<id:unit_id>/offer.pdf", office.unit_offer, name="offer"),
]
