"""What happens when an alert fires: its rule's actions, each delivery recorded (`alert_action`).

Issue 11 item 4. Four kinds, run in the rule's order; one failing does not stop the others, and
each leaves a row saying what happened (status sent | failed, attempts, detail):

- notify: the row itself is the notification the console shows.
- webhook: an HTTP POST of the alert as JSON (urllib; http and https only, redirects not followed),
  signed the way Stripe and GitHub sign theirs: `X-Mlops-Timestamp: <epoch seconds>` and
  `X-Mlops-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the secret read from
  the environment variable the rule names (never stored, never on a command line). A receiver
  recomputes it and refuses old timestamps (replays). Up to 3 attempts with backoff (0.5 s, 1 s)
  on connection errors, timeouts, 429 and 5xx; another 4xx is final.
- callable: a Python function registered in this process (`register_action(name, fn)`, or the
  decorator `mlops.on_alert(name)`), called with the AlertPublic. Nothing named in the database is
  ever imported: the CLI's `--actions MODULE` imports a module the operator names, which registers.
- retrain: services.monitoring.retraining.start_retraining for the alert's model, trigger = the
  rule's name, alert_id = the alert (imported when needed).

    register_action("page-oncall", lambda alert: pager.send(alert.message))
    outcomes = run_actions(engine=e, store=s, project_id=1, alert=alert, actions=rule.actions, actor=OPERATOR)
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import importlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlops_nb.config import secret_from_env
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring.alerts import AlertPublic
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models.alerts import AlertAction

WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_BACKOFF_S = 0.5  # doubled after each failed attempt
DETAIL_CHARS = 2000

ActionFn = Callable[[AlertPublic], Any]
_REGISTERED: dict[str, ActionFn] = {}


def register_action(name: str, fn: ActionFn) -> ActionFn:
    """Make `fn` the callable action `name` in this process (a rule's {"type": "callable", "name":
    name}); registering a name again replaces it. Returns `fn`, so it works as a decorator's body.

    Raises:
        InvalidInput: an empty name, or `fn` is not callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a callable action needs a name (the rule's {'type': 'callable', 'name': ...})")
    if not callable(fn):
        raise InvalidInput(f"action {name!r}: {fn!r} is not callable")
    _REGISTERED[name.strip()] = fn
    return fn


def registered_actions() -> list[str]:
    """The names of the callables registered in this process, sorted."""
    return sorted(_REGISTERED)


def unregister_action(name: str) -> None:
    """Forget callable action `name` (nothing when it is not registered)."""
    _REGISTERED.pop(name, None)


@dataclass
class ActionOutcome:
    """One action's delivery: `type`, `target` (url, callable name, model), `status` (sent, failed),
    `attempts`, `detail` (HTTP status, the error, what a callable returned, the retraining run),
    `retraining_run_id` for a retrain action that started one."""

    type: str
    target: str
    status: str
    attempts: int
    detail: str
    retraining_run_id: int | None = None


def alert_payload(alert: AlertPublic, project: str | None = None) -> dict[str, Any]:
    """The JSON a webhook receives: {"event": "alert.fired", "project": ..., "alert": {every field}}."""
    return {"event": "alert.fired", "project": project, "alert": dataclasses.asdict(alert)}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Mlops-Signature value: "sha256=" + hex HMAC-SHA256 of `timestamp` + "." + `body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a POST is never re-sent elsewhere
        return None


def post_webhook(url: str, payload: dict[str, Any], *, secret: str | None,
                 attempts: int = WEBHOOK_ATTEMPTS, timeout_s: float = WEBHOOK_TIMEOUT_S,
                 backoff_s: float | None = None) -> tuple[bool, int, str]:
    """POST `payload` as JSON to `url`, signed with `secret` when given; retried (see module doc).
    Returns (delivered, attempts made, what each attempt got, "; "-joined).

    Raises:
        InvalidInput: `url` is not http or https.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"webhook url must be http or https, got {url!r}")
    body = json.dumps(payload, default=str, sort_keys=True).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    wait = WEBHOOK_BACKOFF_S if backoff_s is None else backoff_s
    notes: list[str] = []
    for attempt in range(1, attempts + 1):
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "mlops-nb-webhook", "X-Mlops-Timestamp": timestamp}
        if secret is not None:
            headers["X-Mlops-Signature"] = sign(secret, timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        retry = True
        try:
            with opener.open(request, timeout=timeout_s) as response:
                status = response.status
            if 200 <= status < 300:
                notes.append(f"attempt {attempt}: HTTP {status}")
                return True, attempt, "; ".join(notes)
            notes.append(f"attempt {attempt}: HTTP {status}")
            retry = status == 429 or status >= 500
        except urllib.error.HTTPError as err:
            notes.append(f"attempt {attempt}: HTTP {err.code}")
            retry = err.code == 429 or err.code >= 500
        except (urllib.error.URLError, OSError) as err:  # refused, unreachable, timed out
            reason = getattr(err, "reason", err)
            notes.append(f"attempt {attempt}: {type(reason).__name__}: {reason}")
        if not retry:
            return False, attempt, "; ".join(notes)
        if attempt < attempts:
            time.sleep(wait)
            wait *= 2
    return False, attempts, "; ".join(notes)


def _webhook(action: dict[str, Any], alert: AlertPublic, project: str | None) -> ActionOutcome:
    url = str(action.get("url", ""))
    secret_env = action.get("secret_env")
    secret = None
    if secret_env:
        secret = secret_from_env(str(secret_env))
        if not secret:
            return ActionOutcome("webhook", url, "failed", 0,
                                 f"environment variable {secret_env} (the signing secret) is not set; nothing sent")
    try:
        delivered, attempts, detail = post_webhook(url, alert_payload(alert, project), secret=secret)
    except InvalidInput as err:
        return ActionOutcome("webhook", url, "failed", 0, str(err))
    return ActionOutcome("webhook", url, "sent" if delivered else "failed", attempts, detail)


def _callable(action: dict[str, Any], alert: AlertPublic) -> ActionOutcome:
    name = str(action.get("name", ""))
    fn = _REGISTERED.get(name)
    if fn is None:
        known = ", ".join(registered_actions()) or "none"
        return ActionOutcome("callable", name, "failed", 0,
                             f"no callable registered as {name!r} in this process (registered: {known}); "
                             "register it with mlops.on_alert / register_action, or name its module with "
                             "`mlops monitor run --actions MODULE`")
    try:
        returned = fn(alert)
    except Exception as err:  # noqa: BLE001 - the user's code: its failure is recorded, the others still run
        return ActionOutcome("callable", name, "failed", 1, f"{type(err).__name__}: {err}")
    return ActionOutcome("callable", name, "sent", 1, "" if returned is None else repr(returned))


def alert_window(alert: AlertPublic) -> tuple[str, str] | None:
    """The (start, end) UTC dates of the batches an alert rests on (its evidence's window), as ISO
    dates: the data window a retraining run trains on; None when the alert names no window."""
    start, end = alert.evidence.get("window_start"), alert.evidence.get("window_end")
    if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
        return None
    return (datetime.fromtimestamp(start, tz=UTC).date().isoformat(),
            datetime.fromtimestamp(end, tz=UTC).date().isoformat())


def _retrain(*, engine: Any, store: ArtifactStore, project_id: int, alert: AlertPublic,
             actor: Identity, kernel_env: Mapping[str, str] | None = None) -> ActionOutcome:
    if alert.model is None:
        return ActionOutcome("retrain", "", "failed", 0, "the alert names no model to retrain")
    try:
        retraining = importlib.import_module("mlops_nb.services.monitoring.retraining")
    except ImportError as err:
        return ActionOutcome("retrain", alert.model, "failed", 0, f"retraining is not available: {err}")
    try:
        run = retraining.start_retraining(engine=engine, store=store, project_id=project_id, actor=actor,
                                          model=alert.model, trigger=alert.rule, alert_id=alert.id,
                                          window=alert_window(alert), env=kernel_env)
    except Exception as err:  # noqa: BLE001 - a refusal or failure is this action's outcome, not the monitor's end
        return ActionOutcome("retrain", alert.model, "failed", 1, f"{type(err).__name__}: {err}")
    status = getattr(run, "status", "started")
    return ActionOutcome("retrain", alert.model, "failed" if status == "failed" else "sent", 1,
                         f"retraining run {run.id}: {status}", retraining_run_id=run.id)


def run_action(*, engine: Any, store: ArtifactStore, project_id: int, alert: AlertPublic, action: dict[str, Any],
               actor: Identity, project: str | None = None, kernel_env: Mapping[str, str] | None = None) -> ActionOutcome:
    """Run one action of a rule for `alert` (see the module doc); never raises for a failed
    delivery: the outcome says so. `kernel_env` (MLOPS_TOKEN, MLOPS_USER) is who a retraining
    notebook acts as: the caller's identity variables, passed on explicitly."""
    kind = action.get("type")
    if kind == "notify":
        return ActionOutcome("notify", alert.model or "", "sent", 1, "notification")
    if kind == "webhook":
        return _webhook(action, alert, project)
    if kind == "callable":
        return _callable(action, alert)
    if kind == "retrain":
        return _retrain(engine=engine, store=store, project_id=project_id, alert=alert, actor=actor,
                        kernel_env=kernel_env)
    return ActionOutcome(str(kind), "", "failed", 0, f"unknown action type {kind!r}")


def run_actions(*, engine: Any, store: ArtifactStore, project_id: int, alert: AlertPublic,
                actions: list[dict[str, Any]], actor: Identity, project: str | None = None,
                kernel_env: Mapping[str, str] | None = None) -> list[ActionOutcome]:
    """Run `actions` for `alert` in order, each recorded as an AlertAction row in its own transaction
    (a webhook's wait holds no lock on the store); one's failure does not stop the next.
    Returns the outcomes, in order."""
    outcomes: list[ActionOutcome] = []
    for action in actions:
        started = time.time()
        outcome = run_action(engine=engine, store=store, project_id=project_id, alert=alert, action=action,
                             actor=actor, project=project, kernel_env=kernel_env)
        with session_scope(engine) as session:
            session.add(AlertAction(alert_id=alert.id, type=outcome.type, target=outcome.target[:1000],
                                    status=outcome.status, attempts=outcome.attempts,
                                    detail=outcome.detail[:DETAIL_CHARS], retraining_run_id=outcome.retraining_run_id,
                                    created_at=started, finished_at=time.time()))
        outcomes.append(outcome)
    return outcomes
