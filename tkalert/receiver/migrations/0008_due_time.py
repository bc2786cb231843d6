# Due times leave the System row for a narrow table of their own (#13): a sweep that moved ten thousand due times
# rewrote ten thousand pages of systems (and, on PostgreSQL, locked and re-indexed each row); rows written in time
# order keep the ten thousand due at one moment on a few pages. The silences' link to their system is no
# foreign-key constraint any more (checking it at commit locked each system row); the outbox's episode and silence
# links lose their indexes (only Django's clearing on delete used them; each sweep's mail wrote them). Existing due
# times are copied in due order; a system seen but with nothing left to fire (no due time) is looked at by the next
# sweep.

import django.db.models.deletion
from django.db import migrations, models

COPY = ("INSERT INTO receiver_duetime (system_id, due_at) SELECT id, COALESCE(due_at, CURRENT_TIMESTAMP) "
        "FROM receiver_system WHERE due_at IS NOT NULL OR last_seen IS NOT NULL ORDER BY 2")


class Migration(migrations.Migration):

    dependencies = [
        ('receiver', '0007_message_system_sequence'),
    ]

    operations = [
        migrations.CreateModel(
            name='DueTime',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('due_at', models.DateTimeField(db_index=True)),
                ('system', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='receiver.system')),
            ],
        ),
        migrations.RunSQL(COPY, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveField(
            model_name='system',
            name='due_at',
        ),
        migrations.AlterField(
            model_name='silence',
            name='system',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='silences', to='receiver.system'),
        ),
        migrations.AlterField(
            model_name='outbox',
            name='episode',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outbox', to='receiver.episode'),
        ),
        migrations.AlterField(
            model_name='outbox',
            name='silence',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outbox', to='receiver.silence'),
        ),
    ]
