from django.urls import path  # noqa: F401

from .views import clients as client_views  # --- clients ---
from .views import deals, holds, my_day, payments, promotions, search  # noqa: F401

app_name = "sales"

urlpatterns = [
    path("my-day/", my_day.my_day, name="my-day"),
    # --- holds and queue (holds.py) ---
    path("holds/", holds.hold_list, name="hold-list"),
    path("units/<id:pk>/hold/", holds.hold_create, name="hold-create"),
    path("holds/<id:pk>/extend/", holds.hold_extend, name="hold-extend"),
    path("holds/<id:pk>/cancel/", holds.hold_cancel, name="hold-cancel"),
    path("units/<id:pk>/queue/", holds.queue_join, name="queue-join"),
    path("queue/<id:pk>/withdraw/", holds.queue_withdraw, name="queue-withdraw"),
    path("notices/", holds.notices, name="notices"),
    path("notices/read/", holds.notices_read, name="notices-read"),
    # --- deals, stages, buyers, BTI (deals.py) ---
    path("deals/", deals.deal_list, name="deal-list"),
    path("deals/new/", deals.deal_create, name="deal-create"),
    path("deals/<id:pk>/", deals.deal_detail, name="deal-detail"),
    path("deals/<id:pk>/move/", deals.deal_move, name="deal-move"),
    path("deals/<id:pk>/terminate/", deals.deal_terminate, name="deal-terminate"),
    path("deals/<id:pk>/discount/", deals.deal_discount, name="deal-discount"),
    path("deals/<id:pk>/buyers/", deals.deal_buyers, name="deal-buyers"),
    path("deals/<id:pk>/swap/", deals.deal_swap, name="deal-swap"),
    path("deals/<id:pk>/units/add/", deals.deal_unit_add, name="deal-unit-add"),
    path("deals/<id:pk>/units/remove/", deals.deal_unit_remove, name="deal-unit-remove"),
    path("deals/<id:pk>/bti/", deals.deal_bti, name="deal-bti"),
    # --- clients ---
    path("clients/", client_views.client_list, name="client-list"),
    path("clients/<id:pk>/", client_views.client_detail, name="client-detail"),
    # --- payments, cashier, promotions, search (payments.py, promotions.py, search.py) ---
    path("cashier/", payments.cashier, name="cashier"),
    path("deals/<id:pk>/payments/", payments.deal_payments, name="deal-payments"),
    path("deals/<id:pk>/payments/record/", payments.payment_record, name="payment-record"),
    path("deals/<id:pk>/schedule/", payments.schedule_generate, name="schedule-generate"),
    path("deals/<id:pk>/schedule/lines/", payments.schedule_line_save, name="schedule-line-save"),
    path(
        "deals/<id:pk>/schedule/lines/<id:line_pk>/delete/",
        payments.schedule_line_delete,
        name="schedule-line-delete",
    ),
    path("promotions/", promotions.promotion_list, name="promotion-list"),
    path("promotions/new/", promotions.promotion_create, name="promotion-create"),
    path("promotions/<id:pk>/edit/", promotions.promotion_update, name="promotion-update"),
    path("search/", search.global_search, name="search"),
    path("search/units/", search.unit_search, name="unit-search"),
]
