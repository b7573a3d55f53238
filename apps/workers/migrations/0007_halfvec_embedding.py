"""The lexical `embedding` becomes `halfvec` (issue 18): half the heap and HNSW index at the same recall.

The HNSW index is dropped first (its `vector_cosine_ops` cannot index `halfvec`), the column is cast in
place (`USING embedding::halfvec(dim)`, pgvector >= 0.7) and the index is rebuilt with
`halfvec_cosine_ops`. At 100k workers this takes under a minute; `build_worker_hnsw_index` builds the
same index.

The type change and `SET STORAGE PLAIN` are one ALTER TABLE: a type change resets the column's
storage to the type's default (EXTERNAL) and rewrites the table, so two statements would move every
vector out of line (measured: 7 buffer reads per row on an exact scan instead of 1). PLAIN keeps it in
the row, as `0001_initial` did for `vector`.
"""

import pgvector.django.halfvec
import pgvector.django.indexes
from django.conf import settings
from django.db import migrations


def _retype(sql_type: str) -> str:
    return (
        f"ALTER TABLE workers_worker ALTER COLUMN embedding TYPE {sql_type}({int(settings.EMBEDDING_DIM)}) "
        f"USING embedding::{sql_type}({int(settings.EMBEDDING_DIM)}), ALTER COLUMN embedding SET STORAGE PLAIN"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0006_semantic_embedding"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="worker", name="worker_embedding_hnsw"),
        migrations.RunSQL(
            _retype("halfvec"),
            _retype("vector"),
            state_operations=[
                migrations.AlterField(
                    model_name="worker",
                    name="embedding",
                    field=pgvector.django.halfvec.HalfVectorField(blank=True, dimensions=settings.EMBEDDING_DIM, null=True),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="worker",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=settings.HNSW_EF_CONSTRUCTION, fields=["embedding"], m=settings.HNSW_M,
                name="worker_embedding_hnsw", opclasses=["halfvec_cosine_ops"],
            ),
        ),
    ]
