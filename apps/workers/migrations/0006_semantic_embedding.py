"""The optional semantic vector of a worker (hybrid ranking, issue 19), with its own HNSW index."""

import pgvector.django.indexes
import pgvector.django.vector
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0005_worker_coordinates"),
    ]

    operations = [
        migrations.AddField(
            model_name="worker",
            name="semantic_embedding",
            field=pgvector.django.vector.VectorField(blank=True, dimensions=settings.SEMANTIC_EMBEDDING_DIM, null=True),
        ),
        migrations.AddField(model_name="worker", name="semantic_model", field=models.CharField(blank=True, max_length=128)),
        migrations.AddIndex(
            model_name="worker",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=settings.HNSW_EF_CONSTRUCTION, fields=["semantic_embedding"], m=settings.HNSW_M,
                name="worker_semantic_hnsw", opclasses=["vector_cosine_ops"],
            ),
        ),
        # Inline like `embedding`, so an exact scan never detoasts a vector per row.
        migrations.RunSQL(
            "ALTER TABLE workers_worker ALTER COLUMN semantic_embedding SET STORAGE PLAIN",
            "ALTER TABLE workers_worker ALTER COLUMN semantic_embedding SET STORAGE EXTENDED",
        ),
    ]
