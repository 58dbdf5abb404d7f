from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_report_rollups')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EarlyCancellation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_external_id', fields.CharField(unique=True, max_length=255)),
                ('refund_external_id', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'early_cancellations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A shop platform cancelled an order before any delivery that would record it arrived'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SyncCursor',
            name='next',
            field=fields.CharField(null=True, max_length=2048),
        ),
    ]
