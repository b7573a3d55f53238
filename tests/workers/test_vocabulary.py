"""The role vocabulary's human wording (apps.workers.vocabulary): one list of roles, two ways to say
one — a label where a role stands alone in the console, a title inside a sentence or a query."""

from __future__ import annotations

import pytest

from apps.workers.vocabulary import ROLE_TITLES, ROLES, role_label, role_title


@pytest.mark.parametrize(
    "role, label, title",
    [
        ("forklift_operator", "Forklift operator", "forklift operator"),
        ("cdl_driver", "CDL driver", "CDL driver"),  # acronyms keep their case
        ("cna", "Certified nursing assistant (CNA)", "certified nursing assistant (CNA)"),
        ("picker_packer", "Picker/packer", "picker/packer"),
        ("drone_pilot", "Drone pilot", "drone pilot"),  # a role ingest kept outside the vocabulary reads as its words
    ],
)
def test_a_role_reads_as_words_never_as_its_slug(role, label, title):
    assert (role_label(role), role_title(role)) == (label, title)


def test_every_vocabulary_role_has_a_label_without_underscores():
    assert set(ROLES) == set(ROLE_TITLES)
    assert all("_" not in role_label(role) and role_label(role)[0].isupper() for role in ROLES)
