"""Tokens over HTTP: refused credentials, reuse, transparent re-authentication after a 401,
renewal ahead of expiry, and nothing secret or personal in the logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import pytest
from vetstoria_support import booking_for, first_slot, raw_token, statuses

from vetstoria.client import VetstoriaClient
from vetstoria.errors import AuthError, NotFoundError
from vetstoria.paths import build_endpoints
from vetstoria.sandbox import DEMO_SECRET, SandboxClinic

MakeClinic = Callable[..., SandboxClinic]
MakeClient = Callable[..., VetstoriaClient]


def test_refused_auth_is_an_auth_error_and_not_retried(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    clinic.add_fault("auth:401")
    with pytest.raises(AuthError) as info:
        client.species()
    assert info.value.code == "auth" and not info.value.retryable and info.value.status == 401
    assert statuses(clinic, "auth") == [401]
    assert statuses(clinic, "species") == []
    assert [c.name for c in client.species()] == ["Dog", "Cat"]  # the fault was used up


def test_a_wrong_secret_is_refused(clinic: SandboxClinic, make_client: MakeClient) -> None:
    client = make_client(clinic, secret="not-the-secret")
    with pytest.raises(AuthError, match="invalid credentials"):
        client.schedules()
    assert statuses(clinic, "auth") == [401]


def test_a_wrong_site_is_not_found(clinic: SandboxClinic, make_client: MakeClient) -> None:
    client = make_client(clinic, site_id=999)
    with pytest.raises(NotFoundError, match="location"):
        client.species()


def test_the_token_is_reused(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    client.species()
    client.appointment_types()
    first_slot(client)
    assert statuses(clinic, "auth") == [200]
    auth = clinic.requests()[0]
    assert auth["body"] == {"secret": "[redacted]"}  # the sandbox does not keep it either


@pytest.mark.parametrize("fault", ["expired", "token:expired", "species:401"])
def test_an_expired_token_is_renewed_transparently(
    clinic: SandboxClinic, client: VetstoriaClient, fault: str
) -> None:
    client.schedules()
    clinic.add_fault(fault)
    assert len(client.species()) == 2
    assert statuses(clinic, "species") == [401, 200]
    assert statuses(clinic, "auth") == [200, 200]


def test_a_second_401_is_an_auth_error(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    clinic.add_fault("expired")
    clinic.add_fault("expired")
    with pytest.raises(AuthError):
        client.species()
    assert statuses(clinic, "species") == [401, 401]  # re-authenticated and retried once only


def test_the_token_is_renewed_ahead_of_its_expiry(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(token_lifetime_s=2.0)
    client = make_client(clinic)
    client.species()
    time.sleep(1.7)  # the token is still valid for 0.3 s, but inside the renewal margin
    client.species()
    assert statuses(clinic, "auth") == [200, 200]
    assert statuses(clinic, "species") == [200, 200]  # no 401 was needed


def test_the_sandbox_expires_tokens(make_clinic: MakeClinic) -> None:
    clinic = make_clinic(token_lifetime_s=0.3)
    token = raw_token(clinic)
    url = build_endpoints(clinic.config()).species
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(0.4)
    expired = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.json() == {"message": "token expired"}


def test_logs_carry_no_secret_token_or_personal_data(
    make_clinic: MakeClinic, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = make_clinic(slow_s=1.0)
    client = make_client(clinic, timeout_s=0.4)
    with caplog.at_level(logging.DEBUG):
        client.species()
        clinic.add_fault("expired")
        slot = first_slot(client)
        client.book(booking_for(slot))
        clinic.add_fault("booking:timeout-after-commit")
        client.book(booking_for(first_slot(client)))
    text = caplog.text
    assert "authenticated" in text and "booking confirmed" in text  # something was logged
    tokens = [r["body"] for r in clinic.requests() if r["stage"] == "auth"]
    assert tokens  # the secret was sent, yet:
    for private in (
        DEMO_SECRET,
        "James",
        "Okafor",
        "james.okafor",
        "07700900456",
        "Mittens",
        "sneezing",
    ):
        assert private not in text
    assert "Bearer" not in text
