from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_order_line_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Reward',
            name='min_tier',
            field=fields.ForeignKeyField('models.Tier', source_field='min_tier_id', null=True, db_constraint=True, to_field='id', related_name='rewards', on_delete=OnDelete.RESTRICT),
        ),
    ]
