from django.db import migrations

# Any write to the workers table — ingest, an admin edit, a bulk UPDATE, raw SQL, TRUNCATE — bumps the
# `workers` index version in the same transaction. Search result caches key on that version, so a
# cached result can never outlive the data it was computed from, whoever wrote the data.
FORWARD = """
CREATE OR REPLACE FUNCTION lakehouse_bump_index_version() RETURNS trigger AS $$
BEGIN
    UPDATE indexes_vectorindex SET version = version + 1, updated_at = now() WHERE name = TG_ARGV[0];
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER workers_bump_index_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON workers_worker
    FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_bump_index_version('workers');
"""
BACKWARD = """
DROP TRIGGER IF EXISTS workers_bump_index_version ON workers_worker;
DROP FUNCTION IF EXISTS lakehouse_bump_index_version();
"""


class Migration(migrations.Migration):
    dependencies = [("workers", "0001_initial"), ("indexes", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
