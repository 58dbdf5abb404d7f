from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_program_version')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LotUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('models.LedgerEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='lot_uses', on_delete=OnDelete.RESTRICT)),
                ('lot', fields.ForeignKeyField('models.Lot', source_field='lot_id', db_constraint=True, to_field='id', related_name='uses', on_delete=OnDelete.RESTRICT)),
                ('points', fields.IntField()),
            ],
            options={'table': 'lot_uses', 'app': 'models', 'pk_attr': 'id', 'table_description': "How much of one lot a debit consumed, so returned points get the lot's expiry back."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LedgerEntry',
            name='settled',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Member',
            name='shortfall',
            field=fields.IntField(default=0, db_default=0),
        ),
        # Shortfalls recorded before this migration are still owed.
        ops.RunSQL(
            "UPDATE members SET shortfall = (SELECT COALESCE(SUM(e.shortfall), 0) "
            "FROM ledger_entries e WHERE e.member_id = members.id)",
            reverse_sql="",
        ),
    ]
