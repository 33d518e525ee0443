"""User names are normalised (NFKC, no control characters, no surrounding spaces) and matched to a
user case-folded, so two spellings of one person are one user (SPEC §4 Identity; issue 8 item 2)."""
from __future__ import annotations

import pytest

from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput
from mlops_nb.services.values import user_key, user_name


@pytest.mark.parametrize("typed", ["Rita", "rita", "RITA", "ＲＩＴＡ", "ｒｉｔａ", "Ｒita"])
def test_spellings_of_one_name_share_one_key(typed):
    assert user_key(typed) == "rita"


def test_nfkc_form_is_kept_with_its_case():
    assert user_name("ＲＩＴＡ") == "RITA" and user_name("Rita") == "Rita"
    assert user_key("Straße") == user_key("STRASSE") == "strasse"


@pytest.mark.parametrize("bad, words", [
    (" rita", "has leading or trailing spaces"),
    ("rita ", "has leading or trailing spaces"),
    ("rita\u3000", "has leading or trailing spaces"),  # an ideographic space: NFKC makes it a space
    ("ri\u200bta", "contains the control or format character U+200B at position 2"),
    ("rita\u202e", "contains the control or format character U+202E at position 4"),
    ("ri\tta", "contains the control or format character U+0009 at position 2"),
    ("", "must not be empty"),
    (7, "must be a string"),
])
def test_bad_names_are_refused_naming_the_problem(bad, words):
    with pytest.raises(InvalidInput) as err:
        user_name(bad)
    assert words in str(err.value)


@pytest.mark.parametrize("second", ["rita", "RITA", "ｒｉｔａ"])
def test_adding_another_spelling_of_a_user_is_a_conflict(session, second):
    identity.add_user(session=session, actor=identity.OPERATOR, name="Rita", role="reviewer")
    with pytest.raises(Conflict) as err:
        identity.add_user(session=session, actor=identity.OPERATOR, name=second, role="admin")
    assert str(err.value).startswith(f"user {user_name(second)!r} already exists as 'Rita'")
    assert [identity.get_user(session=session, name=second).role] == ["reviewer"]


def test_adding_the_same_name_again_is_a_conflict(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer")
    with pytest.raises(Conflict, match="^user 'rita' already exists$"):
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="admin")


def test_a_bad_user_name_is_refused_and_nothing_is_stored(session):
    with pytest.raises(InvalidInput, match="has leading or trailing spaces"):
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita ", role="reviewer")
    with pytest.raises(Exception):
        identity.get_user(session=session, name="rita")


def test_a_full_width_login_proves_the_stored_user(session):
    user = identity.add_user(session=session, actor=identity.OPERATOR, name="Rita", role="reviewer", password="rita-secret-1")
    who = identity.identify(session=session, declared="ＲＩＴＡ", fallback="x", password="rita-secret-1")
    assert who == identity.Identity(name="Rita", role="reviewer", proven=True, user_id=user.id)
    token = identity.issue_token(session=session, actor=identity.OPERATOR, name="rita")
    assert identity.identify(session=session, declared="RITA", fallback="x", token=token).user_id == user.id


def test_a_declared_name_is_normalised_but_not_a_user(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="Rita", role="reviewer", password="rita-secret-1")
    assert identity.identify(session=session, declared="ＲＩＴＡ", fallback="x") == identity.Identity(name="RITA")
    with pytest.raises(InvalidInput, match="leading or trailing spaces"):
        identity.identify(session=session, declared="rita ", fallback="x")
