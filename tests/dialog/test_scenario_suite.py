"""The caller-scenario suite with the real default language model, the real dialog, the real
Vetstoria client and the sandbox clinic over HTTP. The bar is the issue's: 95% of scenarios
pass, and the safety rules hold in every one of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop.settings import Settings

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
# 62 conversations with the default model: a few minutes on an idle 2-core PC, far more on a
# busy one; the per-test limit would cut the shared fixture off.
pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def reports(
    settings: Settings,
    require_model: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> list[dict[str, Any]]:
    from petvisor_desktop.engine import load_llm
    from petvisor_desktop.history import History
    from petvisor_desktop.simulate import Scenario, run_scenario, scenario_files

    require_model("llm", settings.models.llm)
    model = load_llm(settings)
    history = History.open(tmp_path_factory.mktemp("db") / "suite.sqlite3")
    out = []
    for path in scenario_files(SCENARIOS):
        out.append(
            run_scenario(Scenario.load(path), settings, model, recorder_factory=lambda: history)
        )
    report_file = Path(tmp_path_factory.getbasetemp()) / "scenario-reports.json"
    report_file.write_text(json.dumps(out, indent=1))
    failed = [r for r in out if not r["checks"]["passed"]]
    # Written straight to the terminal so that CI logs show the figure even with -q.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for r in failed:
            reporter.write_line(f"scenario FAIL {r['scenario']}: {r['checks']['failures']}")
        reporter.write_line(
            f"scenario suite: {len(out) - len(failed)} of {len(out)} scenarios met their "
            f"expectations; reports in {report_file}"
        )
    return out


def test_at_least_25_scenarios_cover_the_issue() -> None:
    files = sorted(SCENARIOS.glob("*.json"))
    assert len(files) >= 25
    outcomes = {json.loads(p.read_text())["expect"]["outcome"] for p in files}
    assert {"booked", "handoff", "no_booking"} <= outcomes


def test_suite_passes_at_95_percent(reports: list[dict[str, Any]]) -> None:
    passed = sum(r["checks"]["passed"] for r in reports)
    failures = {
        r["scenario"]: r["checks"]["failures"] for r in reports if not r["checks"]["passed"]
    }
    assert passed / len(reports) >= 0.95, failures


def test_no_booking_without_read_back_and_no_false_booked_claims(
    reports: list[dict[str, Any]],
) -> None:
    unsafe = [
        (r["scenario"], f)
        for r in reports
        for f in r["checks"]["failures"]
        if "without a confirmed read-back" in f
        or "said the appointment was booked" in f
        or "clinic recorded a booking but" in f
    ]
    assert unsafe == []


def test_booked_outcomes_match_what_the_clinic_recorded(reports: list[dict[str, Any]]) -> None:
    for r in reports:
        if r["outcome"] == "booked":
            assert len(r["bookings"]) == 1, r["scenario"]
        if r["outcome"] == "no_booking":
            assert r["bookings"] == [], r["scenario"]


def test_every_assistant_turn_reports_expecting_and_figures(reports: list[dict[str, Any]]) -> None:
    expecting_values = {
        "species",
        "appointment_type",
        "clinician",
        "date",
        "time",
        "pet_name",
        "client_name",
        "phone",
        "email",
        "confirm",
        "anything_else",
        "none",
    }
    llm_turns = 0
    for r in reports:
        for entry in r["transcript"]:
            if entry["role"] == "assistant":
                assert entry["expecting"] in expecting_values
                assert entry["latency_ms"] >= 0
                if entry["tokens_out"] > 0:  # the model ran: its figures are reported
                    llm_turns += 1
                    assert entry["tokens_in"] > 0 and entry["llm_ms"] > 0
    # The model really ran where the rules alone did not read the words (most plain answers
    # and openings they read without it: tests/dialog/test_flows_scripted.py).
    assert llm_turns >= 20


def test_returning_caller_is_offered_their_email_only_when_the_name_matches(
    settings: Settings, require_model: Any, tmp_path: Path
) -> None:
    from petvisor_desktop.dialog.normalize import format_email_for_speech
    from petvisor_desktop.engine import load_llm
    from petvisor_desktop.history import History
    from petvisor_desktop.simulate import Scenario, run_scenario

    require_model("llm", settings.models.llm)
    model = load_llm(settings)
    history = History.open(tmp_path / "returning.sqlite3")
    base = Scenario.load(SCENARIOS / "cat-consultation-norman-thursday-afternoon.json")
    first = run_scenario(base, settings, model, recorder_factory=lambda: history)
    assert first["outcome"] == "booked"
    stored_email = first["bookings"][0]["client"]["email"]

    # Same phone and name: offered the e-mail on file without hearing it; "yes" uses it.
    again = Scenario.load(base.path)  # type: ignore[arg-type]
    again.answers = {**again.answers, "email": "Yes please"}
    second = run_scenario(again, settings, model, recorder_factory=lambda: history)
    said = " ".join(e["text"] for e in second["transcript"] if e["role"] == "assistant")
    assert "we have on file" in said
    offer = next(e for e in second["transcript"] if "we have on file" in e.get("text", ""))
    spoken_email = format_email_for_speech(stored_email)
    assert stored_email not in offer["text"] and spoken_email not in offer["text"]
    assert second["outcome"] == "booked"
    assert second["bookings"][0]["client"]["email"] == stored_email

    # Same phone, another name: nothing stored is offered or read out.
    stranger = Scenario.load(base.path)  # type: ignore[arg-type]
    stranger.answers = {
        **stranger.answers,
        "client_name": "Olivia Grant",
        "email": "olivia at example dot com",
    }
    # The simulated caller checks the read-back against what it expects to be booked.
    stranger.expect = {
        **stranger.expect,
        "booking": {
            **stranger.expect["booking"],
            "client_first_name": "Olivia",
            "client_last_name": "Grant",
            "email": "olivia@example.com",
        },
    }
    third = run_scenario(stranger, settings, model, recorder_factory=lambda: history)
    said = " ".join(e["text"] for e in third["transcript"] if e["role"] == "assistant")
    assert "on file" not in said
    assert stored_email not in said and spoken_email not in said
    assert third["bookings"][0]["client"]["email"] == "olivia@example.com"
