from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_offers_experiments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberOrderTotals',
            fields=[
                ('member_id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('orders', fields.IntField()),
                ('spend_cents', fields.BigIntField()),
                ('last_order_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_member_totals', 'app': 'models', 'pk_attr': 'member_id', 'table_description': "A member's orders in the rollups: how many, spend (subtotal less discounts and"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('metric', fields.CharField(max_length=16)),
                ('day', fields.IntField()),
                ('other', fields.IntField(default=0)),
                ('ref', fields.BigIntField(default=0)),
                ('label', fields.CharField(default='', max_length=255)),
                ('value', fields.BigIntField()),
            ],
            options={'table': 'report_rollups', 'app': 'models', 'unique_together': (('metric', 'day', 'other', 'ref', 'label'),), 'pk_attr': 'id', 'table_description': 'One figure of one day: ``value`` summed over the rows it stands for.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupMark',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(unique=True, max_length=64)),
                ('last_id', fields.BigIntField(default=0)),
                ('rolled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_rollup_marks', 'app': 'models', 'pk_attr': 'id', 'table_description': 'How far a source table is rolled up: its rows with ``id <= last_id`` are in the rollups.'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Coupon',
            index=Index(fields=['created_at']),
        ),
        ops.AddIndex(
            model_name='Donation',
            index=Index(fields=['created_at']),
        ),
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['created_at']),
        ),
        ops.AddIndex(
            model_name='Member',
            index=Index(fields=['created_at']),
        ),
    ]
