"""Roles (SPEC §5) are Django groups, the same for the API and the console.

`coordinators` search, validate, propose/accept/reject, end assignments, record, give feedback and read runs;
`operators` do all of that plus ingest, materialize, replay, index operations and order CRUD. A
superuser is an operator. `is_staff` only lets a user open the console and never grants an operator
right. The groups carry model permissions, so the console (Django's admin) shows each role what it
may see and change; the API asks the same question through `is_operator` / `is_coordinator`.
"""

from __future__ import annotations

COORDINATORS = "coordinators"
OPERATORS = "operators"

# Our apps: operators hold every model permission in them.
PROJECT_APP_LABELS: tuple[str, ...] = ("core", "interactions", "indexes", "workers", "evidence", "orders", "loadtest", "playbooks", "replay", "alerts")

# What coordinators may do in the console beyond viewing every model of our apps.
COORDINATOR_EXTRA_PERMISSIONS: tuple[str, ...] = (
    "orders.add_fillproposal",
    "orders.change_fillproposal",
    "orders.add_assignmentend",  # end an assignment (no-show, decline…) and backfill, as the API lets them
    "playbooks.add_playbook",
)


def role_names(user) -> frozenset[str]:
    """The user's role groups, remembered on the user object: the token cache hands the same object
    to many requests, so a role check costs no query after the first."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    cached = getattr(user, "_lakehouse_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=(COORDINATORS, OPERATORS)).values_list("name", flat=True))
        if user.is_superuser:
            names.add(OPERATORS)
        cached = frozenset(names)
        user._lakehouse_roles = cached
    return cached


def is_operator(user) -> bool:
    return OPERATORS in role_names(user)


def is_coordinator(user) -> bool:
    """Coordinators and operators (an operator does everything a coordinator does)."""
    return bool(role_names(user))


def role_of(user) -> str | None:
    if is_operator(user):
        return "operator"
    return "coordinator" if is_coordinator(user) else None
