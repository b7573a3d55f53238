"""The console's extension points (apps/core/admin_extensions.py): a lower app's record page shows the
panels and record views that higher apps register, to the users allowed to see them, without importing
those apps."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from apps.core import admin_extensions
from apps.core.admin_extensions import panels_for, register_panel, register_record_view
from apps.orders import services
from tests.admin.records import add_worker
from tests.console_sessions import console_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_console() -> Client:
    return console_session("console-coord", coordinator_console=True)


@pytest.fixture
def scratch_registrations():
    """Registrations a test adds are removed afterwards (the registries are process-wide)."""
    panels = {label: dict(entries) for label, entries in admin_extensions._PANELS.items()}
    views = {label: dict(entries) for label, entries in admin_extensions._RECORD_VIEWS.items()}
    yield
    admin_extensions._PANELS.clear()
    admin_extensions._PANELS.update(panels)
    admin_extensions._RECORD_VIEWS.clear()
    admin_extensions._RECORD_VIEWS.update(views)


def test_the_apps_above_workers_put_their_panels_on_the_worker_page_in_order():
    names = [(panel.section, panel.name) for panel in panels_for("workers.worker")]
    assert names == [
        ("Do not assign", "do_not_assign_table"), ("Assignments and fills", "assignments_table"), ("Assignments and fills", "proposals_table"), ("Assignments and fills", "playbooks_table"),
    ]


def test_a_worker_page_renders_registered_panels_as_read_only_rows(coordinator_console):
    worker = add_worker("W-X0101")
    services.order_create(order_id="JO-7", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=1,
                          shift="night", start_date=date(2099, 1, 5))
    services.proposal_create(order_id="JO-7", worker_ids=["W-X0101"], actor="console-coord")
    page = coordinator_console.get(f"/admin/workers/worker/{worker.pk}/change/").content.decode()
    assert 'class="form-row field-proposals_table' in page and "JO-7" in page  # orders' panel, in the admin's own row markup
    assert 'class="form-row field-playbooks_table' in page  # playbooks' panel
    assert page.index("Assignments and fills") < page.index("Recent outreach validations") < page.index(">Ingest<")


def test_a_panel_is_shown_only_to_users_holding_its_permission(scratch_registrations):
    @register_panel("workers.worker", section="Secrets", permission="orders.delete_joborder")
    @admin.display(description="operator-only panel")
    def secret_panel(worker) -> str:
        return f"secret about {worker.worker_id}"

    worker = add_worker("W-X0102")
    User = get_user_model()
    viewer = User.objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_worker"))
    client = Client()
    client.force_login(viewer)
    assert "secret about" not in client.get(f"/admin/workers/worker/{worker.pk}/change/").content.decode()
    viewer.user_permissions.add(Permission.objects.get(codename="delete_joborder"))
    client.force_login(User.objects.get(pk=viewer.pk))  # a fresh user object: permissions are cached per object
    page = client.get(f"/admin/workers/worker/{worker.pk}/change/").content.decode()
    assert "secret about W-X0102" in page and "field-secret_panel" in page and ">Secrets<" in page


def test_a_record_view_gets_the_found_record_and_a_button_on_its_page(coordinator_console, scratch_registrations):
    from django.http import HttpResponse

    seen = []

    def echo(request, order, model_admin) -> HttpResponse:
        seen.append((order.order_id, type(model_admin).__name__))
        return HttpResponse(f"echo {order.order_id}")

    register_record_view("orders.joborder", slug="fill", view=echo, label="Fill this order", dom_id="fill-order-link")
    order = services.order_create(order_id="JO-8", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=1,
                                  shift="night", start_date=date(2099, 1, 5))
    page = coordinator_console.get(f"/admin/orders/joborder/{order.pk}/change/").content.decode()
    assert f'href="/admin/orders/joborder/{order.pk}/fill/"' in page and 'id="fill-order-link"' in page
    assert coordinator_console.get(f"/admin/orders/joborder/{order.pk}/fill/").content == b"echo JO-8"
    assert seen == [("JO-8", "JobOrderAdmin")]
    assert coordinator_console.get("/admin/orders/joborder/999999/fill/").status_code == 404


def test_a_record_view_with_a_permission_is_neither_offered_nor_served_without_it(coordinator_console, scratch_registrations):
    from django.http import HttpResponse

    # URLs are built once per process, so the test swaps the view behind an existing slug ("fill").
    register_record_view("orders.joborder", slug="fill", view=lambda request, order, model_admin: HttpResponse("no"),
                         label="Fill this order", dom_id="fill-order-link", permission="orders.delete_joborder")
    order = services.order_create(order_id="JO-9", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=1,
                                  shift="night", start_date=date(2099, 1, 5))
    assert 'id="fill-order-link"' not in coordinator_console.get(f"/admin/orders/joborder/{order.pk}/change/").content.decode()
    assert coordinator_console.get(f"/admin/orders/joborder/{order.pk}/fill/").status_code == 403
