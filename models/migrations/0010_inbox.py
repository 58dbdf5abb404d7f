from tortoise import migrations
from tortoise.migrations import operations as ops
from models.inbox import InboxStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_shortfall_lot_uses')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboxDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=32)),
                ('topic', fields.CharField(max_length=64)),
                ('delivery_id', fields.CharField(max_length=255)),
                ('body', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=InboxStatus.PARKED, description='APPLIED: applied\nPARKED: parked\nIGNORED: ignored', enum_type=InboxStatus, max_length=12)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('applied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_deliveries', 'app': 'models', 'unique_together': (('platform', 'delivery_id'),), 'indexes': [Index(fields=['status', 'id'])], 'pk_attr': 'id', 'table_description': 'One delivery from a shop platform, stored before it is applied.'},
            bases=['Model'],
        ),
    ]
