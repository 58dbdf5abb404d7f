from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_pending_credits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProgramVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.BigIntField()),
            ],
            options={'table': 'program_versions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One row whose token changes with every change of the programme configuration.'},
            bases=['Model'],
        ),
    ]
