"""Roles are groups (SPEC §5): `coordinators` and `operators` with model permissions, the same for the
API and the console; `is_staff` only opens the console."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.core.api.authentication import CachedTokenAuthentication
from apps.core.api.throttling import CoordinatorRateThrottle
from apps.core.roles import COORDINATORS, OPERATORS

pytestmark = pytest.mark.django_db


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_groups_hold_model_permissions():
    operators = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=OPERATORS).permissions.select_related("content_type")}
    coordinators = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=COORDINATORS).permissions.select_related("content_type")}
    assert {"orders.add_joborder", "orders.delete_joborder", "evidence.add_materializerun", "workers.view_worker"} <= operators
    assert {"orders.view_joborder", "orders.change_fillproposal", "playbooks.add_playbook", "replay.view_replayrun"} <= coordinators
    assert not coordinators & {"orders.add_joborder", "evidence.add_materializerun", "workers.delete_worker"}


def test_is_staff_alone_grants_no_operator_right():
    """Today's bug: any is_staff user could reset indexes and launch ingests through the API."""
    console_only = get_user_model().objects.create_user("console-only", is_staff=True)
    client = _token_client(console_only)
    assert client.get("/api/v1/indexes/").status_code == 403
    assert client.get("/api/v1/whoami").status_code == 403  # no role at all
    console_only.groups.add(Group.objects.get(name=OPERATORS))
    CachedTokenAuthentication.forget_all()  # roles are read with the token, within its cache window
    assert _token_client(get_user_model().objects.get(pk=console_only.pk)).get("/api/v1/indexes/").status_code == 200


def test_api_token_coordinator_can_open_the_console_but_not_operate():
    out = StringIO()
    call_command("api_token", "coord", "--coordinator", stdout=out)
    user = Token.objects.get(key=out.getvalue().strip()).user
    assert user.is_staff and not user.is_superuser and list(user.groups.values_list("name", flat=True)) == [COORDINATORS]
    api = _token_client(user)
    assert api.get("/api/v1/whoami").json() == {"username": "coord", "role": "coordinator", "is_staff": True}
    assert api.get("/api/v1/indexes/").status_code == 403
    console = Client()
    console.force_login(user)
    assert console.get("/admin/orders/joborder/").status_code == 200
    assert console.get("/admin/orders/joborder/add/").status_code == 403
    assert console.get("/admin/workers/ingestjob/launch/").status_code == 403  # not an operator


def test_api_token_staff_is_an_operator_and_stays_one():
    out = StringIO()
    call_command("api_token", "op", "--staff", stdout=out)
    call_command("api_token", "op", stdout=StringIO())  # re-running without the flag changes nothing
    user = get_user_model().objects.get(username="op")
    assert list(user.groups.values_list("name", flat=True)) == [OPERATORS]
    assert _token_client(user).get("/api/v1/whoami").json()["role"] == "operator"


def test_the_data_migration_puts_staff_in_operators_and_other_users_in_coordinators():
    User = get_user_model()
    staff = User.objects.create_user("old-staff", is_staff=True)
    plain = User.objects.create_user("old-coordinator")
    gone = User.objects.create_user("old-inactive", is_active=False)
    migration = importlib.import_module("apps.core.migrations.0001_role_groups")
    migration.forwards(django_apps, None)
    assert list(staff.groups.values_list("name", flat=True)) == [OPERATORS]
    assert list(plain.groups.values_list("name", flat=True)) == [COORDINATORS]
    assert not gone.groups.exists()


def test_throttling_exempts_operators_not_staff(monkeypatch):
    monkeypatch.setattr(CoordinatorRateThrottle, "THROTTLE_RATES", {"coordinator": "2/min"})
    User = get_user_model()
    operator = User.objects.create_user("group-operator")
    operator.groups.add(Group.objects.get(name=OPERATORS))
    coordinator_console = User.objects.create_user("coordinator-console", is_staff=True)
    coordinator_console.groups.add(Group.objects.get(name=COORDINATORS))
    operator_client, coordinator_client = _token_client(operator), _token_client(coordinator_console)
    assert [operator_client.get("/api/v1/whoami").status_code for _ in range(4)] == [200] * 4
    assert [coordinator_client.get("/api/v1/whoami").status_code for _ in range(3)] == [200, 200, 429]
