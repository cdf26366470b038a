"""Strong entity tags (RFC 9110 section 8.8.3) of representations, computed without the database."""

import hashlib


def representation_tag(body: bytes) -> str:
    """A strong ETag of exactly these bytes (RFC 9110 section 8.8.3): it changes when, and only
    when, the representation does."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def entity_tag(key: str, versions: tuple[int, ...]) -> str:
    """The strong ETag of the body stored under `key` at `versions`: it changes with them (every
    write behind the body bumps one), so it costs no database work to compute or check."""
    return representation_tag(f"{key}@{'.'.join(map(str, versions))}".encode())
