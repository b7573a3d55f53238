"""Roles become groups (SPEC §5): today's staff users are operators, every other active user keeps the
coordinator role it had. The groups' model permissions are set after migrate (apps.core.apps), when
Django has created the permissions."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    coordinators, _ = Group.objects.get_or_create(name="coordinators")
    operators, _ = Group.objects.get_or_create(name="operators")
    for user in User.objects.filter(is_staff=True):
        user.groups.add(operators)
    for user in User.objects.filter(is_staff=False, is_active=True):
        user.groups.add(coordinators)


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
