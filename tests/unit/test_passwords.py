"""Password rules and argon2id hashing."""

from __future__ import annotations

import argon2
import pytest

from comprimemelo.services.passwords import Passwords, common_passwords
from comprimemelo.settings import Settings
from tests.conftest import CHEAP_ARGON2


@pytest.fixture
def passwords():
    return Passwords(Settings(**CHEAP_ARGON2))


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyuiop", "Iloveyou1", "PASSWORD1"])
def test_the_most_common_passwords_are_refused_in_any_case(passwords, password):
    assert "common" in passwords.problem(password)


@pytest.mark.parametrize("password", ["correct horse battery", "tr0ub4dor&3-staple", "ñandú en la pampa"])
def test_uncommon_passwords_of_the_minimum_length_pass(passwords, password):
    assert passwords.problem(password) is None


def test_the_list_holds_the_shipped_20000_passwords():
    shipped = common_passwords()
    assert 19_000 <= len(shipped) <= 20_000  # case-folding merges a few
    assert {"123456", "password", "dragon", "letmein"} <= shipped


def test_short_and_huge_passwords_are_refused(passwords):
    assert "at least 8" in passwords.problem("a1b2c3")
    assert "at most" in passwords.problem("x" * 1025)


def test_hashes_are_argon2id_with_the_configured_cost():
    settings = Settings(argon2_time_cost=2, argon2_memory_kib=8192, argon2_parallelism=2)
    parameters = argon2.extract_parameters(Passwords(settings).hash("correct horse battery"))
    assert parameters.type is argon2.Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (2, 8192, 2)


class CountingHasher(argon2.PasswordHasher):
    """argon2's own hasher, counting the verifications and their parameters."""

    def __init__(self, inner: argon2.PasswordHasher) -> None:
        super().__init__(inner.time_cost, inner.memory_cost, inner.parallelism)
        self.verified: list[argon2.Parameters] = []

    def verify(self, hash, password):
        self.verified.append(argon2.extract_parameters(hash))
        return super().verify(hash, password)


def test_an_unknown_user_costs_one_full_verification_like_a_wrong_password():
    """Equal work, hence similar time, without timing anything: both paths run
    exactly one argon2id verification with the configured parameters."""
    passwords = Passwords(Settings(argon2_time_cost=2, argon2_memory_kib=4096, argon2_parallelism=1))
    counting = passwords._hasher = CountingHasher(passwords._hasher)
    real = passwords.hash("correct horse battery")
    assert passwords.verify(real, "wrong wrong wrong") is False
    assert passwords.verify(None, "correct horse battery") is False
    assert passwords.verify(real, "correct horse battery") is True
    assert len(counting.verified) == 3
    assert len({(p.type, p.time_cost, p.memory_cost, p.parallelism) for p in counting.verified}) == 1


def test_no_more_hashes_at_once_than_cores(monkeypatch):
    """Memory stays bounded under a log-in storm: each argon2 hash holds its
    whole memory cost, so at most one per core runs; the others wait."""
    import os
    import threading
    import time

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    passwords = Passwords(Settings(**CHEAP_ARGON2))
    running, peak, lock = 0, 0, threading.Lock()

    class SlowHasher(argon2.PasswordHasher):
        def verify(self, hash, password):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return super().verify(hash, password)

    inner = passwords._hasher
    passwords._hasher = SlowHasher(inner.time_cost, inner.memory_cost, inner.parallelism)
    threads = [threading.Thread(target=passwords.verify, args=(None, "x" * 10)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_under_gevent_hashing_runs_on_a_real_thread_not_the_event_loop():
    """A hash on gevent's loop would stall every other request of the web process."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent('''
        from gevent import monkey
        monkey.patch_all()
        native_id = monkey.get_original("threading", "get_native_id")
        from comprimemelo.server.event_loop import off_the_event_loop
        print(native_id() != off_the_event_loop(native_id))
    ''')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_without_gevent_hashing_runs_on_the_calling_thread():
    import threading

    from comprimemelo.server.event_loop import off_the_event_loop

    assert off_the_event_loop(threading.get_native_id) == threading.get_native_id()


@pytest.mark.parametrize("password", ["aaaaaaaa", "        ", "abababab", "abcabcabc", "aaaabbbb", "abcdefgh",
                                      "12345678", "98765432"])
def test_repetitive_sequential_or_blank_passwords_are_refused(passwords, password):
    assert passwords.problem(password) is not None


@pytest.mark.parametrize("password", ["comprimemelo", "Comprimemelo2024!", "ana.banana", "ana.banana@example.com",
                                      "anabanana77", "ＣＯＭＰＲＩＭＥＭＥＬＯ"])
def test_the_service_name_username_or_email_are_refused(passwords, password):
    problem = passwords.problem(password, context=("ana.banana", "ana.banana@example.com"))
    assert problem is not None and "username" in problem


def test_a_common_password_with_a_few_digits_added_is_refused(passwords):
    assert "common" in passwords.problem("password2024!")


@pytest.mark.parametrize("password", ["alice in wonderland", "banana split sundae", "correct horse battery"])
def test_a_password_that_merely_contains_a_short_context_word_passes(passwords, password):
    assert passwords.problem(password, context=("ana", "ana@example.com")) is None
