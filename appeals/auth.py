"""API keys of the routing service: roles, hashed keys, constant-time checks.

Keys come from APPEALS_API_KEYS (comma-separated `role:key`) and/or a key file (APPEALS_API_KEYS_FILE,
default <APPEALS_HOME>/api_keys.txt) with one `role:sha256:<hex>` (or `role:<key>`) per line, `#`
comments allowed. Only SHA-256 digests are kept in memory; a presented key is hashed and compared
with hmac.compare_digest against every digest. Roles: `portal` may classify, `operator` may also
send corrections (/feedback).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from appeals.config import ConfigError, home_dir

KEYS_ENV = "APPEALS_API_KEYS"
KEYS_FILE_ENV = "APPEALS_API_KEYS_FILE"
ROLES: tuple[str, ...] = ("portal", "operator")
# Which roles may call an endpoint that needs `role`.
GRANTS: dict[str, frozenset[str]] = {"portal": frozenset({"portal", "operator"}),
                                     "operator": frozenset({"operator"})}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id(digest: str) -> str:
    """A short public name of a key for audit records: a prefix of its SHA-256 digest, which is what
    the key file holds, so an administrator can tell which key sent a correction without the key."""
    return "sha256:" + digest[:16]


def _parse_entry(entry: str, where: str) -> tuple[str, str]:
    role, sep, rest = entry.strip().partition(":")
    if not sep or role not in ROLES or not rest:
        raise ConfigError(f"{where}: expected 'role:key' or 'role:sha256:<hex>' with role in {ROLES}")
    if rest.startswith("sha256:"):
        digest = rest.removeprefix("sha256:").lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ConfigError(f"{where}: a sha256 digest is 64 hex characters")
        return role, digest
    return role, hash_key(rest)


@dataclass(frozen=True)
class KeyRing:
    """The (role, sha256 hex digest) pairs a deployment accepts."""

    entries: tuple[tuple[str, str], ...] = ()

    def role_of(self, key: str | None) -> str | None:
        """The role of `key`, or None; every digest is compared so timing does not reveal which matched."""
        if not key:
            return None
        digest = hash_key(key).encode()
        found = None
        for role, known in self.entries:
            if hmac.compare_digest(digest, known.encode()) and found is None:
                found = role
        return found

    def id_of(self, key: str | None) -> str | None:
        """`key_id` of an accepted key, else None."""
        return key_id(hash_key(key)) if key and self.role_of(key) is not None else None

    def allows(self, key: str | None, needed: str) -> bool:
        role = self.role_of(key)
        return role is not None and role in GRANTS[needed]


def default_keys_file() -> Path:
    env = os.environ.get(KEYS_FILE_ENV)
    return Path(env) if env else home_dir() / "api_keys.txt"


def load_keyring(path: Path | None = None) -> KeyRing:
    """Keys from APPEALS_API_KEYS and the key file (if it exists). No keys: every write call gets 401."""
    entries: list[tuple[str, str]] = []
    env = os.environ.get(KEYS_ENV, "")
    for n, item in enumerate(x for x in env.split(",") if x.strip()):
        entries.append(_parse_entry(item, f"{KEYS_ENV} entry {n + 1}"))
    path = path or default_keys_file()
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(_parse_entry(line, f"{path}:{n}"))
    return KeyRing(tuple(entries))


def create_keys_file(path: Path) -> dict[str, str]:
    """Write a key file with one fresh key per role (only digests stored); return the plain keys once."""
    keys = {role: secrets.token_urlsafe(24) for role in ROLES}
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# API keys of the appeals service: role:sha256:<digest>; add lines to add keys."]
    lines += [f"{role}:sha256:{hash_key(key)}" for role, key in keys.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return keys


def presented_key(headers: dict[str, str], fallback: str | None = None) -> str | None:
    """The key a request carries: X-API-Key, else `Authorization: Bearer`, else `fallback` (Open311 api_key)."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return fallback
