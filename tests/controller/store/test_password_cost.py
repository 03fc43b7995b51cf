"""Passwords are stored at argon2id's production cost (the tests swap in a cheap hasher,
tests/conftest.py): at least the RFC 9106 second recommended option (64 MiB, 3 passes)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters

from controller.store import users


def test_passwords_are_hashed_at_the_production_cost(production_hasher: PasswordHasher) -> None:
    parameters = extract_parameters(production_hasher.hash("a long enough password"))
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 64 * 1024 and parameters.time_cost >= 3


def test_the_tests_hash_through_the_same_function_at_a_lower_cost() -> None:
    parameters = extract_parameters(users.hash_password("a long enough password"))
    assert parameters.type is Type.ID and parameters.memory_cost < 64 * 1024
