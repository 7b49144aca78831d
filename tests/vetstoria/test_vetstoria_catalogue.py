"""The catalogue over HTTP: species, appointment types, schedules, the disk cache and the
offline fallback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from vetstoria_support import statuses

from vetstoria.client import VetstoriaClient
from vetstoria.errors import BadResponseError, UnavailableError
from vetstoria.sandbox import DEMO_SITE_HASH, DEMO_SITE_ID, SandboxClinic

MakeClinic = Callable[..., SandboxClinic]
MakeClient = Callable[..., VetstoriaClient]


def names(items: list) -> list[tuple[int, str]]:
    return [(i.id, i.name) for i in items]


def test_catalogue_lists_the_demo_clinic(client: VetstoriaClient) -> None:
    assert names(client.species()) == [(1, "Dog"), (2, "Cat")]
    assert names(client.appointment_types()) == [
        (6963, "Vaccinations"),
        (6964, "Consultation"),
        (6966, "Nurse appointment"),
        (6994, "Dental"),
    ]
    schedules = client.schedules()
    assert names(schedules) == [(85267, "Dr Amy Roberts"), (85268, "Dr Michael Norman")]
    assert [s.display_order for s in schedules] == [1, 2]
    assert not any(s.is_digital_marketing for s in schedules)


def test_catalogue_is_cached_on_disk_per_site(
    clinic: SandboxClinic, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(clinic, cache_dir=tmp_path / "c")
    client.species()
    client.schedules()
    folder = tmp_path / "c" / f"{DEMO_SITE_HASH}-{DEMO_SITE_ID}"
    assert sorted(p.name for p in folder.iterdir()) == ["schedules.json", "species.json"]
    cached = json.loads((folder / "species.json").read_text())
    assert [i["name"] for i in cached["items"]] == ["Dog", "Cat"]


def test_offline_the_cached_catalogue_is_used(
    make_clinic: MakeClinic,
    make_client: MakeClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clinic = make_clinic()
    online = make_client(clinic, cache_dir=tmp_path / "c", max_read_retries=1)
    species, types, schedules = online.species(), online.appointment_types(), online.schedules()
    config = clinic.config()
    answered = len(clinic.requests())
    clinic.stop()

    offline = make_client(config, cache_dir=tmp_path / "c", max_read_retries=1)
    with caplog.at_level(logging.WARNING, logger="vetstoria.client"):
        assert offline.species() == species
        assert offline.appointment_types() == types
        assert offline.schedules() == schedules
    assert "using the cached list" in caplog.text
    # The client that fetched them first has the same fallback: its kept-alive connection
    # was dropped with the server, so nothing more was answered.
    assert online.species() == species
    assert len(clinic.requests()) == answered


def test_offline_without_a_cache_raises_unavailable(
    make_clinic: MakeClinic, make_client: MakeClient, tmp_path: Path
) -> None:
    clinic = make_clinic()
    config = clinic.config()
    clinic.stop()
    client = make_client(config, cache_dir=tmp_path / "empty", max_read_retries=1)
    with pytest.raises(UnavailableError) as info:
        client.species()
    assert info.value.retryable and info.value.status is None


def test_server_errors_after_retries_fall_back_to_the_cache(
    clinic: SandboxClinic, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(clinic, cache_dir=tmp_path / "c", max_read_retries=1)
    fresh = client.species()
    clinic.add_fault("species:503")
    clinic.add_fault("species:503")
    assert client.species() == fresh
    assert statuses(clinic, "species") == [200, 503, 503]


def test_catalogue_fault_hits_any_catalogue_list_and_is_retried(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    clinic.add_fault("catalogue:500")
    assert len(client.appointment_types()) == 4
    assert statuses(clinic, "appointmentTypes") == [500, 200]
    assert clinic.pending_faults() == []


def test_wrong_content_type_is_a_bad_response(
    clinic: SandboxClinic, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(clinic, cache_dir=tmp_path / "none")
    clinic.add_fault("schedules:content-type")
    with pytest.raises(BadResponseError) as info:
        client.schedules()
    assert info.value.code == "bad_response" and not info.value.retryable
    assert "text/html" in info.value.message
    assert statuses(clinic, "schedules") == [200]  # not retried
    assert len(client.schedules()) == 2
