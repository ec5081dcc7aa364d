"""Per-session secrets: an ed25519 key pair for the grader, a password for the candidate."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, repr=False)
class KeyPair:
    private: str  # OpenSSH PEM
    public: str  # "ssh-ed25519 AAAA... praxis"


def new_keypair(comment: str = "praxis-grader") -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return KeyPair(private, f"{public} {comment}")


def new_password(length: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
