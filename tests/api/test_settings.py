"""Configuration: config.py is the one reader of the environment, and secrets never show in a repr."""
from __future__ import annotations

import ast
from pathlib import Path

import mlops_nb as mlops
from mlops_nb.config import Settings

PACKAGE = Path(mlops.__file__).parent


def _reads_the_environment(path: Path) -> list[int]:
    """Lines of `path` that touch os.environ or call getenv."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")) or (
                isinstance(node, ast.Name) and node.id in ("environ", "getenv")):
            found.append(node.lineno)
    return found


def test_only_config_reads_the_environment():
    readers = {str(path.relative_to(PACKAGE)): lines for path in sorted(PACKAGE.rglob("*.py"))
               if (lines := _reads_the_environment(path))}
    assert readers.keys() == {"config.py"}, readers


def test_settings_repr_shows_neither_the_token_nor_a_password(monkeypatch):
    monkeypatch.setenv("MLOPS_TOKEN", "mlops_secret-token")
    monkeypatch.setenv("MLOPS_DB_URL", "postgresql://rita:s3cret@db.example/mlops")
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", "s3://key:hidden@bucket/prefix")
    settings = Settings.from_env()
    assert settings.token == "mlops_secret-token" and "s3cret" in settings.db_url
    shown = repr(settings)
    assert "secret-token" not in shown and "s3cret" not in shown and "hidden" not in shown
    assert "rita:***@db.example" in shown and "token=***" in shown


def test_declared_user_is_mlops_user_only(monkeypatch):
    assert Settings.from_env().declared_user is None
    monkeypatch.setenv("MLOPS_USER", "dana")
    settings = Settings.from_env()
    assert (settings.declared_user, settings.user) == ("dana", "dana")


def test_context_repr_hides_the_store_password(sqlite_url):
    context = mlops.init(project="p", db_url=sqlite_url, user="dana")
    context.db_url = "postgresql+psycopg://rita:s3cret@db.example/mlops"
    assert "s3cret" not in repr(context) and "s3cret" not in context._repr_mimebundle_()["text/html"]
