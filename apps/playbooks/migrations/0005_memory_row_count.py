from django.db import migrations

# Every write to the playbook memory — a record, an archive batch, a reset's TRUNCATE, an admin delete,
# raw SQL — keeps the registry row's row_count in the same transaction, so a record's 201 reports the
# memory's size without counting a table that grows with every fill (issue 18). Statement-level, with
# transition tables: one UPDATE per statement whatever its row count. The counter row is the registry
# row the record's version bump locks anyway, and it is taken in the same order (table, then row).
FORWARD = """
CREATE OR REPLACE FUNCTION lakehouse_keep_index_row_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE indexes_vectorindex SET row_count = 0 WHERE name = TG_ARGV[0];
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE indexes_vectorindex SET row_count = row_count + (SELECT count(*) FROM changed) WHERE name = TG_ARGV[0];
    ELSE
        UPDATE indexes_vectorindex SET row_count = row_count - (SELECT count(*) FROM changed) WHERE name = TG_ARGV[0];
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER playbooks_count_inserted AFTER INSERT ON playbooks_playbook REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_keep_index_row_count('playbook_memory');
CREATE TRIGGER playbooks_count_deleted AFTER DELETE ON playbooks_playbook REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_keep_index_row_count('playbook_memory');
CREATE TRIGGER playbooks_count_truncated AFTER TRUNCATE ON playbooks_playbook
    FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_keep_index_row_count('playbook_memory');

UPDATE indexes_vectorindex SET row_count = (SELECT count(*) FROM playbooks_playbook) WHERE name = 'playbook_memory';
"""
BACKWARD = """
DROP TRIGGER IF EXISTS playbooks_count_inserted ON playbooks_playbook;
DROP TRIGGER IF EXISTS playbooks_count_deleted ON playbooks_playbook;
DROP TRIGGER IF EXISTS playbooks_count_truncated ON playbooks_playbook;
DROP FUNCTION IF EXISTS lakehouse_keep_index_row_count();
UPDATE indexes_vectorindex SET row_count = NULL WHERE name = 'playbook_memory';
"""


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0004_archivedplaybook"), ("indexes", "0004_vectorindex_row_count")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
