from tortoise import migrations
from tortoise.migrations import operations as ops
from models.experiments import ArmSource
from models.offers import OfferEventKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Experiment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=255)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'experiments', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A time-boxed comparison of offer sources, the first arm being the control.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExperimentArm',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('experiment', fields.ForeignKeyField('models.Experiment', source_field='experiment_id', db_constraint=True, to_field='id', related_name='arms', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('name', fields.CharField(max_length=64)),
                ('weight', fields.IntField()),
                ('source', fields.CharEnumField(description='MODEL_VERSION: MODEL_VERSION\nPOPULAR: POPULAR\nNONE: NONE', enum_type=ArmSource, max_length=16)),
                ('model_version_id', fields.IntField(null=True)),
            ],
            options={'table': 'experiment_arms', 'app': 'models', 'unique_together': (('experiment_id', 'position'),), 'pk_attr': 'id', 'table_description': 'One arm: its share of members (weight) and what its members are offered.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NonOfferableCategory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('category', fields.CharField(unique=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'non_offerable_categories', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A category whose products are never shown as offers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OfferEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('offer_id', fields.CharField(max_length=128)),
                ('member_id', fields.IntField(db_index=True)),
                ('kind', fields.CharEnumField(description='IMPRESSION: IMPRESSION\nCLICK: CLICK\nDISMISS: DISMISS', enum_type=OfferEventKind, max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('version_id', fields.IntField()),
                ('rank', fields.IntField()),
                ('item_kind', fields.CharField(max_length=1)),
                ('item_id', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'offer_events', 'app': 'models', 'unique_together': (('offer_id', 'kind', 'at'),), 'indexes': [Index(fields=['member_id', 'at'])], 'pk_attr': 'id', 'table_description': 'What the app reported about one served offer, stored once per offer, kind and moment.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='holdout_percent',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Product',
            name='offerable',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
