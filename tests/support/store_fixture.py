"""What tests/fixtures/demo_store.db holds (tools/make_store_fixture.py writes it), for the
tests that import it."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from esl_controller.ads import checkpoints

STORE_ID = "store-0042"
PRODUCTS, STATIONS = 12, 2
PLAYER = "dairy-01"
PLAYS = 6
# A key for this fixture only: its checkpoint must verify after an import.
SIGNING_KEY = base64.b64encode(hashlib.sha256(b"demo_store.db fixture").digest()).decode()


def public_key() -> str:
    raw = base64.b64decode(SIGNING_KEY)
    return checkpoints.public_key_text(Ed25519PrivateKey.from_private_bytes(raw))
