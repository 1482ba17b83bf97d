"""Mosquitto password files: PBKDF2-SHA512 hashes in Mosquitto's own `$7$` format.

Regenerating is idempotent: users already in the file keep their hash (devices keep
working), new users get a random password returned once for provisioning, users no longer
registered are dropped. Pure apart from the random source.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Mosquitto 2 verifies `$7$<iterations>$<salt>$<hash>` with any iteration count; its own
# tool uses 101, which is cheap to brute-force. The broker pays this once per connect.
PBKDF2_ITERATIONS = 20_000
SALT_BYTES = 12
PASSWORD_BYTES = 24  # token_urlsafe: 32 characters, 192 bits


@dataclass(frozen=True)
class PasswdUpdate:
    text: str  # the new password file
    new_passwords: dict[str, str]  # user -> password, only for users added now
    removed: tuple[str, ...]


def hash_password(
    password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    encoded_salt = base64.b64encode(salt).decode("ascii")
    encoded_digest = base64.b64encode(digest).decode("ascii")
    return f"$7${iterations}${encoded_salt}${encoded_digest}"


def verify_password(password: str, stored: str) -> bool:
    """What Mosquitto does on connect (used by tests and `deploy acl --check`)."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        expected = hash_password(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return secrets.compare_digest(expected.rsplit("$", 1)[1], digest)


def parse_passwd(text: str) -> dict[str, str]:
    """user -> stored hash; blank lines and comments skipped."""
    entries = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, separator, stored = line.partition(":")
        if separator:
            entries[user] = stored
    return entries


def update_passwd(
    existing: str,
    users: Iterable[str],
    new_password: Callable[[], str] = lambda: secrets.token_urlsafe(PASSWORD_BYTES),
) -> PasswdUpdate:
    old = parse_passwd(existing)
    wanted = list(dict.fromkeys(users))
    lines, created = [], {}
    for user in wanted:
        stored = old.get(user)
        if stored is None:
            created[user] = new_password()
            stored = hash_password(created[user])
        lines.append(f"{user}:{stored}")
    removed = tuple(sorted(set(old) - set(wanted)))
    return PasswdUpdate(text="\n".join(lines) + "\n", new_passwords=created, removed=removed)
