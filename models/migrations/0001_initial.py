from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ledger import EntryKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=255)),
                ('email', fields.CharField(max_length=320)),
                ('email_normalized', fields.CharField(db_index=True, max_length=320)),
                ('name', fields.CharField(null=True, max_length=255)),
                ('birthday', fields.DateField(null=True)),
                ('balance', fields.IntField(default=0)),
                ('pending', fields.IntField(default=0)),
                ('lifetime_points', fields.IntField(default=0)),
                ('lifetime_spend_cents', fields.BigIntField(default=0)),
                ('referral_code', fields.CharField(unique=True, max_length=32)),
                ('referred_by', fields.ForeignKeyField('models.Member', source_field='referred_by_id', null=True, db_constraint=True, to_field='id', related_name='referees', on_delete=OnDelete.RESTRICT)),
                ('last_order_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'members', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A shop customer enrolled in the programme. loyalty.ledger owns the balance.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='EARN_ORDER: earn_order\nEARN_ACTION: earn_action\nBONUS: bonus\nREFERRAL: referral\nREDEEM: redeem\nEXPIRE: expire\nREVERSAL: reversal\nADJUST: adjust\nDONATE: donate', enum_type=EntryKind, max_length=16)),
                ('points', fields.IntField()),
                ('balance_after', fields.IntField()),
                ('shortfall', fields.IntField(default=0)),
                ('idempotency_key', fields.CharField(unique=True, max_length=255)),
                ('source', fields.CharField(null=True, max_length=255)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_entries', 'app': 'models', 'indexes': [Index(fields=['member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One posted change of the balance of a member. Written once, never updated or deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.OneToOneField('models.LedgerEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='lot', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='lots', on_delete=OnDelete.RESTRICT)),
                ('points', fields.IntField()),
                ('remaining', fields.IntField()),
                ('expires_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lots', 'app': 'models', 'indexes': [Index(fields=['member_id', 'remaining'])], 'pk_attr': 'id', 'table_description': 'Points opened by one credit entry. Spending and expiry lower remaining, oldest first.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=255)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('placed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('currency', fields.CharField(max_length=3)),
                ('subtotal_cents', fields.BigIntField()),
                ('discount_cents', fields.BigIntField(default=0)),
                ('shipping_cents', fields.BigIntField(default=0)),
                ('eligible_cents', fields.BigIntField()),
                ('points_awarded', fields.IntField()),
                ('refunded_cents', fields.BigIntField(default=0)),
                ('points_reversed', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'orders', 'app': 'models', 'indexes': [Index(fields=['member_id', 'placed_at'])], 'pk_attr': 'id', 'table_description': 'A shop order. Its external_id (the order id of the shop) is the idempotency key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sku', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=255)),
                ('category', fields.CharField(null=True, db_index=True, max_length=128)),
                ('department', fields.CharField(null=True, max_length=128)),
                ('price_cents', fields.BigIntField(null=True)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'products', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A product sold by the shop, keyed by its sku.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='order_lines', on_delete=OnDelete.RESTRICT)),
                ('quantity', fields.IntField()),
                ('unit_price_cents', fields.BigIntField()),
                ('line_total_cents', fields.BigIntField()),
            ],
            options={'table': 'order_lines', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One line of an order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=255)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('amount_cents', fields.BigIntField()),
                ('points_reversed', fields.IntField()),
                ('shortfall', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'refunds', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A full or partial refund of an order. Its external_id makes a repeat a no-op.'},
            bases=['Model'],
        ),
    ]
