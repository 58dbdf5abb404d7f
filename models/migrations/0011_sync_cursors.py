from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_inbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SyncCursor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=32)),
                ('resource', fields.CharField(max_length=32)),
                ('since', fields.CharField(max_length=40)),
                ('page', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sync_cursors', 'app': 'models', 'unique_together': (('platform', 'resource', 'since'),), 'pk_attr': 'id', 'table_description': 'How far a sync of a platform since a date got, per resource.'},
            bases=['Model'],
        ),
    ]
