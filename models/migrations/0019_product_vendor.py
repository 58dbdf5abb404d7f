from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0018_connectors_sync')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Product',
            name='vendor',
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
