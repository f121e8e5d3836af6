"""Authenticated encryption of backup files: AES-256-GCM in 1 MiB chunks (the STREAM
construction), so a backup of any size is sealed and opened without holding it in memory.

File: ``MAGIC`` (5 bytes) · nonce prefix (7 bytes) · chunks. A chunk is its ciphertext's
length (4 bytes, big-endian) and the ciphertext (GCM tag included). The nonce of chunk *i* is
the prefix · *i* (4 bytes) · 1 for the last chunk, else 0; the header is the associated data.
Reordered, dropped, truncated, appended or altered chunks and a wrong key all fail
authentication: ``open_file`` raises ``SealBroken`` and leaves no output behind.
"""

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

MAGIC = b"KVBK1"
CHUNK = 1 << 20
PREFIX = 7


class SealBroken(Exception):
    """The file is not a backup sealed with this key (wrong key, altered or truncated)."""


def backup_key() -> bytes:
    """``KVARTAL_BACKUP_KEY`` (32 bytes, URL-safe base64), else derived from the secret key
    (development only: ``check --deploy`` warns)."""
    if configured := getattr(settings, "KVARTAL_BACKUP_KEY", ""):
        key = base64.urlsafe_b64decode(configured.encode() + b"=" * (-len(configured) % 4))
        if len(key) != 32:
            raise ValueError("KVARTAL_BACKUP_KEY must be 32 bytes in URL-safe base64")
        return key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kvartal-backup").derive(
        settings.SECRET_KEY.encode()
    )


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal_file(source: Path, target: Path, key: bytes | None = None) -> None:
    aead = AESGCM(key or backup_key())
    prefix = os.urandom(PREFIX)
    header = MAGIC + prefix
    with open(source, "rb") as src, open(target, "wb") as out:
        out.write(header)
        index, chunk = 0, src.read(CHUNK)
        while True:
            following = src.read(CHUNK)
            last = not following
            sealed = aead.encrypt(_nonce(prefix, index, last), chunk, header)
            out.write(len(sealed).to_bytes(4, "big") + sealed)
            if last:
                return
            index, chunk = index + 1, following


def _open_chunk(aead, prefix: bytes, index: int, sealed: bytes, header: bytes):
    for last in (False, True):
        try:
            return aead.decrypt(_nonce(prefix, index, last), sealed, header), last
        except InvalidTag:
            continue
    raise SealBroken("wrong key or altered backup")


def open_file(source: Path, target: Path, key: bytes | None = None) -> None:
    """Decrypt ``source`` into ``target``; on any failure ``target`` is removed."""
    aead = AESGCM(key or backup_key())
    try:
        with open(source, "rb") as src, open(target, "wb") as out:
            header = src.read(len(MAGIC) + PREFIX)
            if len(header) != len(MAGIC) + PREFIX or not header.startswith(MAGIC):
                raise SealBroken("not a Kvartal backup")
            prefix = header[len(MAGIC) :]
            index = 0
            while True:
                size = src.read(4)
                if len(size) != 4:
                    raise SealBroken("the backup is truncated")
                sealed = src.read(int.from_bytes(size, "big"))
                plain, last = _open_chunk(aead, prefix, index, sealed, header)
                if last:
                    out.write(plain)
                    if src.read(1):
                        raise SealBroken("data after the end of the backup")
                    return
                out.write(plain)
                index += 1
    except BaseException:
        target.unlink(missing_ok=True)
        raise
