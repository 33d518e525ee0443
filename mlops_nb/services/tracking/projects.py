"""Projects and experiments: the named folders runs live in (Project > Experiment > Run).

Both are created on first use and never renamed or deleted. Several notebooks creating the same one
at once (a new store on PostgreSQL) all end with the one row.

    >>> project = tracking.get_or_create_project(session=session, name="credit")
    >>> experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="baseline")
"""
from __future__ import annotations

import time

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mlops_nb.services.errors import NotFound
from mlops_nb.services.values import check_name
from mlops_nb.store.models import Experiment, Project
from mlops_nb.store.run_store import run_store

_KNOWN_SHOWN = 20  # how many existing names an error message lists


def list_projects(*, session: Session) -> list[tuple[int, str]]:
    """Every project of the store as (id, name), ordered by name."""
    rows = session.execute(select(col(Project.id), col(Project.name)).order_by(col(Project.name))).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def list_experiments(*, session: Session, project_id: int) -> list[str]:
    """The names of project `project_id`'s experiments, by name."""
    found = session.exec(select(Experiment.name).where(Experiment.project_id == project_id)
                         .order_by(col(Experiment.name))).all()
    return [str(name) for name in found]


def get_or_create_project(*, session: Session, name: str) -> Project:
    """The project called `name`, created (in the session's transaction) when it does not exist.

    Two processes creating it at once both get the one row: the loser's insert fails on the unique
    name inside a savepoint, and it reads the winner's row.

    Raises:
        InvalidInput: `name` is not a non-empty string of at most 250 characters.
    """
    check_name(name, "project name")
    query = select(Project).where(Project.name == name)
    project: Project | None = session.exec(query).first()
    if project is not None:
        return project
    try:
        with session.begin_nested():
            project = Project(name=name, created_at=time.time())
            session.add(project)
    except IntegrityError:
        project = session.exec(query).first()
        if project is None:
            raise
    return project


def get_project(*, session: Session, name: str) -> Project:
    """The project called `name`.

    Raises:
        NotFound: no such project; the message lists (up to 20 of) those that exist.
    """
    project: Project | None = session.exec(select(Project).where(Project.name == name)).first()
    if project is None:
        known = session.exec(select(Project.name).order_by(col(Project.name)).limit(_KNOWN_SHOWN)).all()
        raise NotFound(f"project {name!r} does not exist; projects: {', '.join(known) or 'none yet'}")
    return project


def get_or_create_experiment(*, session: Session, project_id: int, name: str) -> Experiment:
    """Experiment `name` of project `project_id`, created (in the session's transaction) when it does
    not exist; created as `start_run` creates it, so concurrent creators end with one row.

    Raises:
        InvalidInput: `name` is not a non-empty string of at most 250 characters.
    """
    check_name(name, "experiment name")
    query = select(Experiment).where(Experiment.project_id == project_id, Experiment.name == name)
    experiment: Experiment | None = session.exec(query).first()
    if experiment is None:
        run_store(session).add_experiment(project_id=project_id, name=name, created_at=time.time())
        experiment = session.exec(query).one()
    return experiment


def get_experiment(*, session: Session, project_id: int, name: str) -> Experiment:
    """Experiment `name` of project `project_id`.

    Raises:
        NotFound: no such experiment; the message lists (up to 20 of) the project's experiments.
    """
    experiment: Experiment | None = session.exec(select(Experiment).where(
        Experiment.project_id == project_id, Experiment.name == name)).first()
    if experiment is None:
        known = session.exec(select(Experiment.name).where(Experiment.project_id == project_id)
                                  .order_by(col(Experiment.name)).limit(_KNOWN_SHOWN)).all()
        raise NotFound(f"experiment {name!r} does not exist in this project; experiments: "
                       f"{', '.join(known) or 'none yet'} (start a run to create one)")
    return experiment
