"""A tiny run of the client picker's benchmark: the missing clients are added (with the
normalised phone the search reads) and every search is answered, with its figures."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kvartal.clients.models import Client
from kvartal.clients.picker import find_clients


def test_bench_picker_adds_the_missing_clients_and_times_every_search(manager, sales_head):
    with pytest.raises(CommandError, match="--fill"):
        call_command("bench_picker", clients=60, repeat=1, stdout=StringIO())
    assert not Client.objects.exists()  # refused: nothing added
    out = StringIO()

    call_command("bench_picker", clients=60, repeat=2, fill=True, stdout=out)

    text = out.getvalue()
    assert Client.objects.in_use().count() == 60
    assert "Adding 60 clients" in text and "Live clients: 60" in text
    rows = re.findall(r"^(\S.*?)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+\+?)$", text, re.M)
    assert len(rows) == 12, text  # six searches for each of the two users
    # the added clients are found by the phone as typed, as a service-made client would be
    added = Client.objects.order_by("pk").first()
    found, _more = find_clients(Client.objects.all(), added.phone[-7:])
    assert added in found
    # run again: nothing more is added
    call_command("bench_picker", clients=60, repeat=1, fill=True, stdout=StringIO())
    assert Client.objects.count() == 60
