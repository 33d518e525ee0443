"""Alert actions: a signed webhook against a real local HTTP server (retries, signature), registered
callables, a retrain action through a fake retraining module, each delivery recorded."""
from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from mlops_nb.services import identity
from mlops_nb.services.monitoring import actions, alerts
from mlops_nb.store.artifacts import artifact_store
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AlertAction
from tests import factories


class Receiver:
    """A local HTTP server that answers `statuses` in turn (then 200) and keeps what it received."""

    def __init__(self, statuses=()):
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(actions, "WEBHOOK_BACKOFF_S", 0.01)


@pytest.fixture()
def fired(engine):
    """An alert fired about model 'credit' v1 (production), in project 'p'; (project_id, alert)."""
    with session_scope(engine) as session:
        project_id = factories.project(session, "p")
        row = factories.version(session, factories.model(session, project_id, "credit"), stage="production")
        alert = alerts.fire_alert(session=session, project_id=project_id, rule="drift", kind="drift_share",
                                  model_version_id=row.id, severity="warning", message="credit v1: 60% drifted",
                                  evidence={"drift_report_id": None}, fingerprint="x")
    return project_id, alert


def _rows(engine):
    with session_scope(engine) as session:
        return list(session.exec(select(AlertAction).order_by(AlertAction.id)))


def _run(engine, tmp_path, fired, steps):
    project_id, alert = fired
    return actions.run_actions(engine=engine, store=artifact_store(str(tmp_path / "a")), project_id=project_id,
                               alert=alert, actions=steps, actor=identity.OPERATOR, project="p")


def test_webhook_is_signed_and_retried_until_delivered(engine, tmp_path, fired, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "s3cr3t")
    hook = receiver([503, 500])
    [outcome] = _run(engine, tmp_path, fired, [{"type": "webhook", "url": hook.url, "secret_env": "HOOK_SECRET"}])
    assert (outcome.status, outcome.attempts) == ("sent", 3)
    assert outcome.detail == "attempt 1: HTTP 503; attempt 2: HTTP 500; attempt 3: HTTP 200"
    headers, body = hook.received[-1]
    expected = hmac.new(b"s3cr3t", headers["X-Mlops-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Mlops-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["alert"]["message"] == "credit v1: 60% drifted" and payload["alert"]["model"] == "credit"
    [row] = _rows(engine)
    assert (row.type, row.status, row.attempts, row.target) == ("webhook", "sent", 3, hook.url)
    assert "s3cr3t" not in row.detail


def test_failed_webhook_does_not_stop_the_next_action(engine, tmp_path, fired, receiver):
    hook = receiver([503, 503, 503])
    called = []
    actions.register_action("count", called.append)
    try:
        outcomes = _run(engine, tmp_path, fired, [{"type": "webhook", "url": hook.url}, {"type": "notify"},
                                                  {"type": "callable", "name": "count"}])
    finally:
        actions.unregister_action("count")
    assert [(o.type, o.status, o.attempts) for o in outcomes] == [("webhook", "failed", 3), ("notify", "sent", 1),
                                                                  ("callable", "sent", 1)]
    assert len(hook.received) == 3 and "X-Mlops-Signature" not in hook.received[0][0]
    assert [a.message for a in called] == ["credit v1: 60% drifted"]
    assert [r.status for r in _rows(engine)] == ["failed", "sent", "sent"]


def test_client_error_is_not_retried_and_missing_secret_sends_nothing(engine, tmp_path, fired, receiver):
    hook = receiver([404])
    first, second = _run(engine, tmp_path, fired, [{"type": "webhook", "url": hook.url},
                                                   {"type": "webhook", "url": hook.url, "secret_env": "NOT_SET_VAR"}])
    assert (first.status, first.attempts, first.detail) == ("failed", 1, "attempt 1: HTTP 404")
    assert second.status == "failed" and "NOT_SET_VAR" in second.detail and len(hook.received) == 1


def test_unreachable_webhook_is_recorded_as_failed(engine, tmp_path, fired):
    [outcome] = _run(engine, tmp_path, fired, [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}])
    assert outcome.status == "failed" and outcome.attempts == 3 and "attempt 3:" in outcome.detail


def test_unregistered_or_raising_callable_fails_with_the_reason(engine, tmp_path, fired):
    def broken(alert):
        raise RuntimeError("pager down")

    actions.register_action("broken", broken)
    try:
        missing, raised = _run(engine, tmp_path, fired, [{"type": "callable", "name": "nope"},
                                                         {"type": "callable", "name": "broken"}])
    finally:
        actions.unregister_action("broken")
    assert missing.status == "failed" and "no callable registered as 'nope'" in missing.detail
    assert raised.status == "failed" and raised.detail == "RuntimeError: pager down"


def test_retrain_action_starts_retraining_for_the_alerts_model(engine, tmp_path, fired, monkeypatch):
    calls = []

    def start_retraining(**kwargs):
        calls.append(kwargs)
        return types.SimpleNamespace(id=None, status="running")

    fake = types.ModuleType("mlops_nb.services.monitoring.retraining")
    fake.start_retraining = start_retraining
    monkeypatch.setitem(sys.modules, "mlops_nb.services.monitoring.retraining", fake)
    [outcome] = _run(engine, tmp_path, fired, [{"type": "retrain"}])
    assert outcome.status == "sent" and outcome.detail == "retraining run None: running"
    [call] = calls
    assert (call["model"], call["trigger"], call["alert_id"], call["actor"]) == ("credit", "drift", fired[1].id,
                                                                                   identity.OPERATOR)
    assert call["window"] is None  # this alert's evidence names no batches


def test_the_retraining_window_is_the_alerts_batches():
    alert = alerts.AlertPublic(id=1, rule="r", kind="drift_share", model="m", version=1, column=None,
                               severity="warning", message="", evidence={"window_start": 1714521600.0,
                                                                         "window_end": 1722384000.0},
                               status="open", acknowledged_by=None, acknowledged_at=None, note=None, created_at=0.0)
    assert actions.alert_window(alert) == ("2024-05-01", "2024-07-31")
