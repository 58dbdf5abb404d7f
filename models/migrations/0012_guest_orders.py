from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_sync_cursors')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GuestOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=255)),
                ('email_normalized', fields.CharField(max_length=320)),
                ('placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('order', fields.TextField(unique=False)),
                ('claimed_by', fields.ForeignKeyField('models.Member', source_field='claimed_by_id', null=True, db_constraint=True, to_field='id', related_name='guest_orders', on_delete=OnDelete.RESTRICT)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'guest_orders', 'app': 'models', 'indexes': [Index(fields=['email_normalized', 'placed_at'])], 'pk_attr': 'id', 'table_description': 'A paid order without a customer, claimable by the member who enrols with its e-mail.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GuestRefund',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=255)),
                ('guest_order', fields.ForeignKeyField('models.GuestOrder', source_field='guest_order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('amount_cents', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'guest_refunds', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Money refunded on a guest order before it was claimed, reversed once it is claimed.'},
            bases=['Model'],
        ),
    ]
