from typing import Any

from rest_framework import serializers


# Rejects keys it does not know, so a typo is a 400 that names the field, not a silent no-op; the
# schema says so (additionalProperties: false, apps.core.api.openapi). A comment, not a docstring: the
# schema would show a docstring as the description of every request body.
class StrictSerializer(serializers.Serializer):
    rejects_unknown_fields = True

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class QueuedJobSerializer(serializers.Serializer):
    """A long job was queued (SPEC §5): poll it by `job_id`."""

    job_id = serializers.IntegerField()
    task_id = serializers.CharField(allow_null=True, help_text="the Celery task id, null if not yet dispatched")
