"""Small factories for the call-centre tests: phone systems, extensions, signed requests."""

import json
import time
from itertools import count
from urllib.parse import urlencode

from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import make_user

from ..models import Extension, PhoneSystem, PhoneSystemKind
from ..telephony import sign_asterisk, sign_generic, sign_mango

_seq = count(1)


def make_system(kind: str = PhoneSystemKind.GENERIC, **fields) -> PhoneSystem:
    n = next(_seq)
    fields.setdefault("name", f"PBX {n}")
    fields.setdefault("code", f"pbx-{n}")
    fields.setdefault("secret", f"secret-{n}")
    if kind == PhoneSystemKind.MANGO:
        fields.setdefault("api_key", f"mango-key-{n}")
    return PhoneSystem.objects.create(kind=kind, **fields)


def make_operator(extension: str = "101", **fields):
    user = make_user(Role.OPERATOR, **fields)
    Extension.objects.create(number=extension, user=user)
    return user


def post_generic(client, system, doc: dict, *, ts: int | None = None, secret=None, **headers):
    body = json.dumps(doc).encode()
    ts = str(ts if ts is not None else int(time.time()))
    signature = sign_generic(secret or system.secret, ts, body)
    return client.post(
        reverse("callcentre:telephony", args=[system.code]),
        body,
        content_type="application/json",
        headers={"X-Kvartal-Timestamp": ts, "X-Kvartal-Signature": signature, **headers},
    )


def post_asterisk(client, system, fields: dict, *, secret=None):
    fields = {"ts": str(int(time.time())), **fields}
    fields["sig"] = sign_asterisk(secret or system.secret, fields)
    return client.post(
        reverse("callcentre:telephony", args=[system.code]),
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def post_mango(client, system, what: str, doc: dict, *, salt=None):
    payload = json.dumps(doc, ensure_ascii=False)
    form = {
        "vpbx_api_key": system.api_key,
        "sign": sign_mango(system.api_key, payload, salt or system.secret),
        "json": payload,
    }
    return client.post(
        reverse("callcentre:telephony-mango", args=[system.code, what]),
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )
