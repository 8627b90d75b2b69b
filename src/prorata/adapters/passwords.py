"""Password hashes with argon2 (``argon2-cffi``, its default parameters, which follow RFC 9106's recommendation).

A hash made with weaker parameters than today's is re-made at the next successful sign-in (``needs_rehash``). A
verification against no hash (an unknown e-mail, a person who has not set a password) verifies against a fixed
dummy hash, so it costs the same as a real one.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# the hash of a password nobody has, with argon2-cffi's default parameters (RFC 9106's low-memory recommendation)
DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$6exLGbkoDme50n/px/T7yg$rjE+YOkkdcEucQLcI5AuaVKtGL7o8BJ3KqBNqevkdNU"


class Argon2Hasher:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # made once here rather than at every start (an argon2 hash costs a fifth of a second, which every command
        # and process paid at import); made again when the hasher's parameters are not the ones it was made with,
        # since a verification costs what the stored hash's parameters say
        self._dummy = DUMMY
        if self._hasher.check_needs_rehash(DUMMY):
            self._dummy = self._hasher.hash("no password: an unknown e-mail costs as much as a known one")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored or self._dummy, password)) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(stored))
        except InvalidHashError:
            return True


HASHER = Argon2Hasher()
