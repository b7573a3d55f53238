from django.apps import AppConfig


class LoadtestConfig(AppConfig):
    name = "apps.loadtest"
    label = "loadtest"
    verbose_name = "Load harness"
