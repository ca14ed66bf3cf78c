"""Sealed archive passwords: open only with the same secret key, tamper-evident."""

import pytest

from comprimemelo.services.sealed import Unsealable, seal, unseal

KEY = "Zq8vN3kP0xW7rT2mB5yH9cL4dF6gJ1sA-key"


def test_seal_round_trips_and_hides_the_text():
    token = seal("ñandú & friends: 42", KEY)
    assert "ñandú" not in token and "friends" not in token
    assert unseal(token, KEY) == "ñandú & friends: 42"
    assert seal("same", KEY) != seal("same", KEY)  # random IV: equal passwords look different


def test_another_key_or_a_changed_token_cannot_open_it():
    token = seal("secret", KEY)
    with pytest.raises(Unsealable):
        unseal(token, KEY + "-other")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(Unsealable):
        unseal(tampered, KEY)
    with pytest.raises(Unsealable):
        unseal("not a token at all", KEY)
