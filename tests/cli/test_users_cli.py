"""`mlops user ...`: the operator's user administration, audited as the operator; passwords only
from a prompt or standard input, never from argv."""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from mlops_nb.cli import main
from mlops_nb.services import identity
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import AuditEvent, User
from tests.cli.test_cli import _one_line_error, cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity.auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def run(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`mlops ARGS` in this process with `stdin` as standard input (not a terminal)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_password_as_an_argument_is_refused_and_never_echoed(sqlite_url):
    for form in (["--password", "hunter2-secret"], ["--password=hunter2-secret"]):
        result = cli("--db", sqlite_url, "user", "add", "rita", "--role", "reviewer", *form)
        line = _one_line_error(result)
        assert "--password is not accepted: a password on the command line shows in `ps`" in line
        assert "--password-stdin" in line and "hunter2" not in line
        result = cli("--db", sqlite_url, "user", "password", "rita", *form)
        assert "--password is not accepted" in _one_line_error(result)
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # refused before the store was opened


def test_password_stdin_reads_one_line_and_the_user_can_log_in(sqlite_url):
    import mlops_nb as mlops

    added = cli("--db", sqlite_url, "user", "add", "rita", "--role", "reviewer", "--password-stdin",
                stdin="rita secret 1\nignored\n")
    assert added.returncode == 0, added.stderr
    assert mlops.init(project="p", db_url=sqlite_url, user="rita", password="rita secret 1").proven
    assert "--password-stdin" in cli("user", "add", "--help").stdout  # what the shared contract looks for


def test_no_caller_puts_a_password_in_argv():
    """Docs, notebooks, benchmarks and tests call `--password-stdin` or the prompt, never `--password VALUE`."""
    # `--password=X`, `"--password", X`, `--password 'X'`, `--password "$X"`, `--password x-secret-1`
    pattern = re.compile(r"""--password(?:=\S|[\\"']*,\s*[^\s\]]|\s+['"$\\]|\s+[\w{}-]+-\w)""")
    files = [p for folder in ("docs", "notebooks", "benchmarks", "tests", "mlops_nb")
             for p in (ROOT / folder).rglob("*") if p.suffix in (".md", ".ipynb", ".py") and p != Path(__file__)]
    files += [ROOT / "README.md", ROOT / "Makefile"]
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files if p.exists()
                 for m in pattern.finditer(p.read_text())]
    allowed = {"mlops_nb/cli/passwords.py"}  # declares the refused option, and says why
    assert [o for o in offenders if o.split(":")[0] not in allowed] == []


def test_empty_stdin_and_no_terminal_are_refused(sqlite_url, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "--db", sqlite_url, "user", "add", "rita", "--role", "reviewer",
                       "--password-stdin")
    assert (code, err) == (1, "mlops: --password-stdin read no password (standard input was empty); "
                              "nothing was changed\n")
    code, _, err = run(capsys, monkeypatch, "--db", sqlite_url, "user", "password", "rita")
    assert (code, err) == (1, "mlops: no terminal to ask for the password on; pipe it with --password-stdin\n")


def test_on_a_terminal_the_password_is_asked_twice(sqlite_url, capsys, monkeypatch):
    answers = iter(["rita-secret-1", "rita-secret-1", "rita-secret-2", "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    assert main(["--db", sqlite_url, "user", "add", "rita", "--role", "reviewer"]) == 0
    assert main(["--db", sqlite_url, "user", "password", "rita"]) == 1
    assert capsys.readouterr().err.endswith("mlops: the passwords differ; nothing was changed\n")


def test_the_operator_manages_users_and_every_change_is_audited_as_the_operator(sqlite_url, capsys, monkeypatch):
    db = ["--db", sqlite_url]
    assert run(capsys, monkeypatch, *db, "user", "add", "rita", "--role", "reviewer", "--password-stdin",
               stdin="rita-secret-1\n")[:2] == (0, "added user rita (reviewer)\n")
    assert run(capsys, monkeypatch, *db, "user", "add", "ed", "--role", "ml_engineer", "--no-password")[0] == 0
    assert run(capsys, monkeypatch, *db, "user", "role", "rita", "manager")[1] == "user rita: role reviewer -> manager\n"
    code, out, _ = run(capsys, monkeypatch, *db, "user", "token", "rita", "--expires-days", "7")
    token = out.splitlines()[-1]
    assert code == 0 and re.fullmatch(r"mlops_[0-9a-f]{8}_\S+", token) and "valid for 7 days" in out
    code, out, _ = run(capsys, monkeypatch, *db, "user", "list")
    assert code == 0 and "Users (2)" in out
    assert re.search(r"rita +manager +True +True +1 ", out) and re.search(r"ed +ml_engineer +True +False +0 ", out)
    code, out, _ = run(capsys, monkeypatch, *db, "user", "tokens", "rita")
    prefix = token.split("_")[1]
    assert code == 0 and re.search(rf"rita +{prefix} +active ", out)
    assert run(capsys, monkeypatch, *db, "user", "revoke", f"mlops_{prefix}")[1] == \
        f"revoked API token mlops_{prefix}_… of rita\n"
    assert re.search(rf"{prefix} +revoked ", run(capsys, monkeypatch, *db, "user", "tokens", "rita")[1])
    assert run(capsys, monkeypatch, *db, "user", "deactivate", "rita")[0] == 0
    assert run(capsys, monkeypatch, *db, "user", "activate", "rita")[0] == 0
    assert run(capsys, monkeypatch, *db, "user", "password", "ed", "--password-stdin", stdin="ed-secret-12\n")[1] == \
        "password of ed set\n"
    with session_scope(get_engine(sqlite_url)) as session:
        events = session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.entity_id)
                                 .order_by(AuditEvent.id)).all()
        assert session.execute(select(User.password_hash).where(User.name == "ed")).scalar_one() is not None
    assert [tuple(e) for e in events] == [
        ("operator (cli)", "user.add", "rita"), ("operator (cli)", "user.add", "ed"),
        ("operator (cli)", "user.role", "rita"), ("operator (cli)", "token.issue", "rita"),
        ("operator (cli)", "token.revoke", "rita"), ("operator (cli)", "user.deactivate", "rita"),
        ("operator (cli)", "user.activate", "rita"), ("operator (cli)", "user.password", "ed")]


@pytest.mark.parametrize("args, message", [
    (["user", "token", "rita", "--expires-days", "0"], "mlops: a token's lifetime must be a whole number of days"),
    (["user", "role", "ghost", "admin"], "mlops: user 'ghost' does not exist"),
    (["user", "revoke", "zz"], "mlops: 'zz' is not a token prefix"),
    (["user", "activate", "rita"], "mlops: user 'rita' is active already; nothing was changed"),
    (["user", "add", "operator (cli)", "--role", "admin", "--no-password"], "mlops: user name 'operator (cli)' is reserved"),
])
def test_bad_user_commands_are_one_line_errors(sqlite_url, capsys, monkeypatch, args, message):
    assert run(capsys, monkeypatch, "--db", sqlite_url, "user", "add", "rita", "--role", "reviewer",
               "--no-password")[0] == 0
    code, out, err = run(capsys, monkeypatch, "--db", sqlite_url, *args)
    assert (code, out) == (1, "") and err.startswith(message) and err.count("\n") == 1


def test_reading_commands_create_no_store(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    for args in (["user", "list"], ["user", "tokens", "rita"]):
        code, _, err = run(capsys, monkeypatch, "--db", url, *args)
        assert code == 1 and err.startswith("mlops: no store at ")
    assert not (tmp_path / "typo.db").exists()
    assert subprocess  # the module's subprocess tests use tests.cli.test_cli.cli
