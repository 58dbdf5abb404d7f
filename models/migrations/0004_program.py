from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.program import Action, Period, TierBasis, TierWindow
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_rewards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActionRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('action', fields.CharEnumField(unique=True, description='SIGNUP: signup\nBIRTHDAY: birthday\nREVIEW: review\nSOCIAL_FOLLOW: social_follow\nSOCIAL_SHARE: social_share\nNEWSLETTER: newsletter', enum_type=Action, max_length=16)),
                ('points', fields.IntField()),
                ('limit_count', fields.IntField(default=1)),
                ('period', fields.CharEnumField(default=Period.LIFETIME, description='ORDER: order\nDAY: day\nWEEK: week\nMONTH: month\nYEAR: year\nLIFETIME: lifetime', enum_type=Period, max_length=10)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'action_rules', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Points for an action, at most ``limit_count`` times per ``period``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('multiplier', fields.DecimalField(default=1, max_digits=8, decimal_places=3)),
                ('fixed_points', fields.IntField(default=0)),
                ('skus', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('tiers', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A time-boxed bonus, optionally limited to skus, categories or tiers (JSON lists).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarningCap',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('period', fields.CharEnumField(unique=True, description='ORDER: order\nDAY: day\nWEEK: week\nMONTH: month\nYEAR: year\nLIFETIME: lifetime', enum_type=Period, max_length=10)),
                ('max_points', fields.IntField()),
            ],
            options={'table': 'earning_caps', 'app': 'models', 'pk_attr': 'id', 'table_description': 'At most ``max_points`` from orders per order or per member and period.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarningRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('category', fields.CharField(null=True, max_length=128)),
                ('sku', fields.CharField(null=True, max_length=64)),
                ('multiplier', fields.DecimalField(default=1, max_digits=8, decimal_places=3)),
                ('points_per_item', fields.IntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'earning_rules', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bonus on matching lines: a multiplier and/or points per item, by category or sku.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Plan',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=128)),
                ('fee_cents', fields.BigIntField()),
                ('period_days', fields.IntField()),
                ('multiplier', fields.DecimalField(default=1, max_digits=8, decimal_places=3)),
                ('perks', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'plans', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A paid membership plan.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Subscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.IntField(db_index=True)),
                ('plan', fields.ForeignKeyField('models.Plan', source_field='plan_id', db_constraint=True, to_field='id', related_name='subscriptions', on_delete=OnDelete.RESTRICT)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'subscriptions', 'app': 'models', 'pk_attr': 'id', 'table_description': "A member's paid membership for a stretch of time."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tier',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('threshold', fields.BigIntField()),
                ('basis', fields.CharEnumField(default=TierBasis.POINTS, description='SPEND: spend\nPOINTS: points', enum_type=TierBasis, max_length=8)),
                ('window', fields.CharEnumField(default=TierWindow.LIFETIME, description='LIFETIME: lifetime\nCALENDAR_YEAR: calendar_year\nROLLING_12_MONTHS: rolling_12_months', enum_type=TierWindow, max_length=20)),
                ('multiplier', fields.DecimalField(default=1, max_digits=8, decimal_places=3)),
                ('perks', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'tiers', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A status level. All active tiers share one basis and window, as the rules check.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberTier',
            fields=[
                ('member_id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('tier', fields.ForeignKeyField('models.Tier', source_field='tier_id', null=True, db_constraint=True, to_field='id', related_name='holders', on_delete=OnDelete.SET_NULL)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('period_ends_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_tiers', 'app': 'models', 'pk_attr': 'member_id', 'table_description': "A member's current tier and when its qualification period ends."},
            bases=['Model'],
        ),
    ]
