from django.apps import AppConfig


class IndexesConfig(AppConfig):
    name = "apps.indexes"
    label = "indexes"
    verbose_name = "Vector indexes"
