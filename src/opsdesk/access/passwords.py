"""Password hashing with argon2 (argon2-cffi's defaults, RFC 9106's second recommendation),
and the rules a new password must pass: a length, and not being a common or leaked one.

"Common or leaked" is zxcvbn's judgement (the Dropbox estimator, shipped with its lists:
the 30,000 most frequent passwords of the leaked-password corpora, English words, names,
keyboard runs), made on this machine without a network call. A password it reckons takes
fewer than 10^8 guesses (its score below 3) is refused: one from the list, or one made of
them in the ways people do (``password1234``, a listed one twice, ``qwertyuiopasdf``).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
COMMON = "This password is on a list of common or leaked passwords. Choose another."
_GUESSABLE_BELOW = 3
"""zxcvbn's score: 3 is "safely unguessable" for an online attack (10^8 guesses or more)."""
_JUDGED_LENGTH = 72
"""zxcvbn's own limit; past it a password is judged by its start (its cost grows with length)."""

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that a wrong name costs as long as a wrong
# password and the time taken does not tell which names exist.
_DECOY = _hasher.hash("not anybody's password")


def hash_password(password: str) -> str:
    """The hash to store; ValueError saying why if the password is too weak to accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password may have at most {MAX_LENGTH} characters")
    if is_common(password):
        raise CommonPassword(COMMON)
    return _hasher.hash(password)


def hash_code(code: str) -> str:
    """The hash to store of a one-time code we made (a recovery code): argon2, as a
    password, but without a password's rules."""
    return _hasher.hash(code)


class CommonPassword(ValueError):
    """The password is a common or leaked one (``COMMON`` says so to the person)."""


def is_common(password: str) -> bool:
    """Whether the password is one of the common or leaked ones, or made of them."""
    judged = zxcvbn(password[:_JUDGED_LENGTH])
    return int(judged["score"]) < _GUESSABLE_BELOW


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DECOY, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
