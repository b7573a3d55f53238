from rest_framework import serializers


class QueuedJobSerializer(serializers.Serializer):
    """A long job was queued (SPEC §5): poll it by `job_id`."""

    job_id = serializers.IntegerField()
    task_id = serializers.CharField(allow_null=True, help_text="the Celery task id, null if not yet dispatched")
