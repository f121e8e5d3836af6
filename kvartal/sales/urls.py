from django.urls import path  # noqa: F401

from .views import deals, holds, payments, promotions, search  # noqa: F401

app_name = "sales"

urlpatterns = [
    # --- holds and queue (holds.py) ---
    # --- deals, stages, buyers, BTI (deals.py) ---
    # --- payments, cashier, promotions, search (payments.py, promotions.py, search.py) ---
]
