"""The demo store: a realistic credit-scoring history, built for real through the public API.

`mlops demo` (cli/demo.py) calls `build`; the console (`mlops console`) then has something to show.
story.py is the credit team's history (who trained, asked and decided what); credit_scoring.py the
data scientists' training script; portfolio.py the other teams (and the credit week) that put three
projects at three phases of the scorecard, with portfolio_training.py their training script. Like
the other front ends, this package uses the API and the services, never the store's tables.

    from mlops_nb.demo import build
    summary = build("sqlite:///demo/mlops.db", progress=print)
"""
from __future__ import annotations

from mlops_nb.demo.portfolio import build
from mlops_nb.demo.story import USERS, Login, Summary, check_empty

__all__ = ["USERS", "Login", "Summary", "build", "check_empty"]
