from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "apps.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks"

    def ready(self) -> None:
        from apps.indexes.registry import VectorIndexSpec, register
        from apps.orders.outcomes import register_outcome_recorder
        from apps.playbooks.models import PLAYBOOK_EMBEDDING_INDEX
        from apps.playbooks.services import record_playbook, reembed_playbooks

        register_outcome_recorder(record_playbook)  # accepted fills and no-shows feed the learning loop

        register(
            VectorIndexSpec(
                name="playbook_memory",
                model_label="playbooks.Playbook",
                column="query_embedding",
                index_name=PLAYBOOK_EMBEDDING_INDEX,
                reembed=reembed_playbooks,
                ef_construction_setting="PLAYBOOK_HNSW_EF_CONSTRUCTION",
                keeps_row_count=True,  # migration 0005's trigger: a record's 201 reports the size
            )
        )
