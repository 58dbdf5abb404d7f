from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ModelVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.CharField(unique=True, max_length=64)),
                ('path', fields.CharField(max_length=1024)),
                ('active', fields.BooleanField(default=False, db_index=True)),
                ('metrics', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('data_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('data_to', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('members', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'model_versions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One trained model. Exactly one version is active: serving reads its offers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberOffer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.ForeignKeyField('models.ModelVersion', source_field='version_id', db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.IntField(null=True)),
                ('rank', fields.IntField()),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('score', fields.FloatField()),
                ('reason', fields.CharField(max_length=32)),
            ],
            options={'table': 'member_offers', 'app': 'models', 'indexes': [Index(fields=['version_id', 'member_id', 'rank'])], 'pk_attr': 'id', 'table_description': 'A precomputed product offer. A null member holds the popularity fallback.'},
            bases=['Model'],
        ),
    ]
