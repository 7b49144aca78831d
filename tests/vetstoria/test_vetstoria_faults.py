"""Fault injection and the client's retry policy for reads: 429 with Retry-After, 5xx, slow
answers, wrong content type; faults are consumed once each, in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from vetstoria_support import CAT, CONSULTATION, NORMAN, THURSDAY, first_slot, statuses

from vetstoria.client import VetstoriaClient
from vetstoria.errors import BadResponseError, RateLimitedError, UnavailableError
from vetstoria.sandbox import SandboxClinic

MakeClinic = Callable[..., SandboxClinic]
MakeClient = Callable[..., VetstoriaClient]


def test_rate_limit_honours_retry_after_then_succeeds(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(retry_after_s=1, faults=["slots:429"])
    client = make_client(clinic)
    began = time.monotonic()
    assert first_slot(client).schedule_id == NORMAN
    assert time.monotonic() - began >= 0.95  # waited as told, not the 0.25 s first back-off
    assert statuses(clinic, "slots") == [429, 200]


def test_rate_limit_after_the_retry_budget_is_raised(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(retry_after_s=0, faults=["slots:429", "slots:429"])
    client = make_client(clinic, max_read_retries=1)
    with pytest.raises(RateLimitedError) as info:
        first_slot(client)
    assert info.value.retryable and info.value.retry_after_s == 0.0
    assert statuses(clinic, "slots") == [429, 429]


def test_server_errors_on_reads_are_retried(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    clinic.add_fault("slots:500")
    clinic.add_fault("slots:503")
    assert first_slot(client)
    assert statuses(clinic, "slots") == [500, 503, 200]


def test_server_errors_beyond_the_budget_are_unavailable(
    clinic: SandboxClinic, make_client: MakeClient
) -> None:
    client = make_client(clinic, max_read_retries=1)
    clinic.add_fault("slots:500")
    clinic.add_fault("slots:500")
    with pytest.raises(UnavailableError) as info:
        first_slot(client)
    assert info.value.status == 500 and info.value.retryable
    assert statuses(clinic, "slots") == [500, 500]


def test_a_slow_answer_times_out_and_the_retry_succeeds(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(slow_s=1.0, faults=["slots:timeout"])
    client = make_client(clinic, timeout_s=0.4)
    assert first_slot(client)
    assert len(statuses(clinic, "slots")) == 2


def test_a_slow_answer_without_retries_is_unavailable(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(slow_s=1.0, faults=["species:timeout"])
    client = make_client(clinic, timeout_s=0.4, max_read_retries=0)
    began = time.monotonic()
    with pytest.raises(UnavailableError, match=r"did not answer within 0\.4 s") as info:
        client.species()
    assert time.monotonic() - began < 0.9
    assert info.value.status is None


def test_wrong_content_type_on_slots_is_a_bad_response(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    clinic.add_fault("slots:content-type")
    with pytest.raises(BadResponseError, match="expected JSON"):
        client.find_slots(
            appointment_type_id=CONSULTATION,
            species_id=CAT,
            schedule_ids=[NORMAN],
            start=THURSDAY,
            end=THURSDAY + timedelta(days=1),
        )


def test_faults_are_consumed_once_in_order_by_their_stage(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    clinic.add_fault("booking:409")
    clinic.add_fault("slots:503")
    clinic.add_fault("slots:500")
    client.species()  # no species fault: untouched
    assert clinic.pending_faults() == ["booking:409", "slots:503", "slots:500"]
    first_slot(client)
    assert [r["fault"] for r in clinic.requests() if r["stage"] == "slots"] == [
        "slots:503",
        "slots:500",
        None,
    ]
    assert clinic.pending_faults() == ["booking:409"]
    clinic.reset()
    assert clinic.pending_faults() == [] and clinic.requests() == [] and clinic.bookings() == []


def test_unknown_faults_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="timeout-after-commit"):
        SandboxClinic(faults=["booking:418"])
    with pytest.raises(ValueError, match="unknown sandbox fault"):
        SandboxClinic(faults=["species:timeout-after-commit"])
    clinic = SandboxClinic()
    with pytest.raises(ValueError):
        clinic.add_fault("slots:boom")
