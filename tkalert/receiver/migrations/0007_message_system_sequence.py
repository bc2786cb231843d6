# The judge's replay check ("is this sequence already accepted for this system?") runs for every message that
# arrives out of order; without this index it read every message of the system (the system_id index), slower as
# the table grows. SQL only, outside the models' state, as 0003's index; both SQLite and PostgreSQL take it.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('receiver', '0006_sweep_writes'),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX receiver_message_system_sequence ON receiver_message (system_id, sequence)",
            reverse_sql="DROP INDEX receiver_message_system_sequence"),
    ]
