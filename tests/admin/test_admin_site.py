"""The console's site without a browser: the home page and app list follow the user's permissions."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_staff_user_sees_only_the_apps_and_panels_they_may_view():
    from django.contrib.auth import get_user_model

    from apps.replay.models import ReplayBatch

    ReplayBatch.objects.create(batch_id="rb_hidden", provider="local", regressions=2, status="succeeded")
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_worker"))
    client = Client()
    assert client.login(username="viewer", password="pw-for-tests")
    home = client.get("/admin/").content.decode()
    assert 'id="health"' in home and "/admin/workers/worker/" in home
    assert "/admin/replay/replayrun/" not in home and "rb_hidden" not in home  # no replay permission: no replay panel
    assert "/admin/auth/user/" not in home


def test_view_site_leads_to_the_dashboard_and_there_is_a_favicon(admin_client):
    home = admin_client.get("/admin/").content.decode()
    assert '<a href="/admin/">View site</a>' in home  # not the API's JSON 404 at "/"
    assert 'rel="icon"' in home and "lakehouse/favicon.svg" in home
