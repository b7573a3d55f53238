"""Clients become rows (SPEC §3.2): today's free-text `JobOrder.client` values are merged by their key
(trimmed, inner spaces collapsed, case-folded); a merged client keeps the spelling of its oldest order."""

import django.db.models.deletion
from django.db import migrations, models


def _key(name: str) -> str:
    # A copy of apps.orders.choices.client_key: a migration must not change when app code does.
    return " ".join(str(name or "").split()).casefold()


def merge_clients(apps, schema_editor) -> None:
    Client = apps.get_model("orders", "Client")
    JobOrder = apps.get_model("orders", "JobOrder")
    by_key: dict[str, int] = {}
    for order in JobOrder.objects.order_by("created_at", "pk").only("pk", "client_name"):
        name = " ".join(str(order.client_name or "").split()) or "(unknown client)"
        key = _key(name)
        if key not in by_key:
            by_key[key] = Client.objects.create(name=name, key=key).pk
        JobOrder.objects.filter(pk=order.pk).update(client_id=by_key[key])


def split_clients(apps, schema_editor) -> None:
    JobOrder = apps.get_model("orders", "JobOrder")
    for order in JobOrder.objects.select_related("client"):
        JobOrder.objects.filter(pk=order.pk).update(client_name=order.client.name)


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_vocabularies_site_zip")]

    operations = [
        migrations.CreateModel(
            name="Client",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("key", models.CharField(editable=False, max_length=200, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RenameField("joborder", "client", "client_name"),
        migrations.AddField(
            "joborder", "client",
            models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="orders.client"),
        ),
        migrations.RunPython(merge_clients, split_clients),
        migrations.RemoveField("joborder", "client_name"),
        migrations.AlterField(
            "joborder", "client",
            models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="orders.client"),
        ),
    ]
