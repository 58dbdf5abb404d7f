from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ledger import PendingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_reward_min_tier')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingCredit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='pending_credits', on_delete=OnDelete.RESTRICT)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='pending_credit', on_delete=OnDelete.RESTRICT)),
                ('points', fields.IntField()),
                ('available_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=PendingStatus.PENDING, description='PENDING: pending\nRELEASED: released\nCANCELLED: cancelled', enum_type=PendingStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pending_credits', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Order points held back for the return window, released to the ledger by the jobs runner.'},
            bases=['Model'],
        ),
    ]
