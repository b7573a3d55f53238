"""The interaction log moves from apps.evidence to this app without moving any data: the table
``evidence_interaction`` and its sequence stay as they are (``db_table``), only Django's state and the
content type (and so every permission on it) change owner. evidence 0003 drops its copy of the state."""

import uuid

from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    if not content_types.objects.filter(app_label="interactions", model="interaction").exists():
        content_types.objects.filter(app_label="evidence", model="interaction").update(app_label="interactions")


def _restore_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    if not content_types.objects.filter(app_label="evidence", model="interaction").exists():
        content_types.objects.filter(app_label="interactions", model="interaction").update(app_label="evidence")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        # The table (and the evidence_interaction_seq sequence) was created there.
        ("evidence", "0002_materializer"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Interaction",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("kind", models.CharField(choices=[("search", "search"), ("profile_swap", "profile swap"), ("validate_email", "validate email"), ("validate_sms", "validate SMS"), ("validate_fill", "validate fill"), ("playbook_record", "playbook record"), ("playbook_search", "playbook search"), ("chat", "chat"), ("feedback", "feedback")], max_length=32)),
                        ("occurred_at", models.DateTimeField(db_index=True)),
                        ("actor", models.CharField(blank=True, max_length=150)),
                        ("request", models.JSONField(default=dict)),
                        ("response", models.JSONField(default=dict)),
                        ("ok", models.BooleanField(default=True)),
                        ("errors", models.JSONField(blank=True, default=list)),
                        ("latency_ms", models.FloatField(default=0.0)),
                        ("model", models.CharField(blank=True, max_length=128)),
                        ("prompt_tokens", models.PositiveIntegerField(blank=True, null=True)),
                        ("completion_tokens", models.PositiveIntegerField(blank=True, null=True)),
                        ("seq", models.BigIntegerField(db_default=models.Func(models.Value("evidence_interaction_seq"), function="nextval", output_field=models.BigIntegerField()), editable=False, unique=True)),
                    ],
                    options={
                        "db_table": "evidence_interaction",
                        "ordering": ["-occurred_at"],
                        "indexes": [models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_type, _restore_content_type),
    ]
