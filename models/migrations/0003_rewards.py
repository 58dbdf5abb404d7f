from tortoise import migrations
from tortoise.migrations import operations as ops
from models.rewards import CouponStatus, RewardKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_offers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Reward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('description', fields.TextField(null=True, unique=False)),
                ('kind', fields.CharEnumField(description='FIXED_DISCOUNT: fixed_discount\nPERCENT_DISCOUNT: percent_discount\nFREE_PRODUCT: free_product\nFREE_SHIPPING: free_shipping\nGIFT_CARD: gift_card\nDONATION: donation', enum_type=RewardKind, max_length=20)),
                ('points_cost', fields.IntField()),
                ('value_cents', fields.BigIntField(null=True)),
                ('percent', fields.IntField(null=True)),
                ('sku', fields.CharField(null=True, max_length=64)),
                ('cause', fields.CharField(null=True, max_length=255)),
                ('category', fields.CharField(null=True, max_length=128)),
                ('min_order_cents', fields.BigIntField(default=0)),
                ('stock', fields.IntField(null=True)),
                ('per_member_limit', fields.IntField(null=True)),
                ('coupon_days', fields.IntField(default=30)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('active', fields.BooleanField(default=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'rewards', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Something members buy with points. A null stock or limit means unlimited.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Coupon',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('reward', fields.ForeignKeyField('models.Reward', source_field='reward_id', db_constraint=True, to_field='id', related_name='coupons', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='coupons', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=CouponStatus.ISSUED, description='ISSUED: issued\nUSED: used\nEXPIRED: expired\nCANCELLED: cancelled', enum_type=CouponStatus, max_length=12)),
                ('points', fields.IntField()),
                ('redeem_key', fields.CharField(unique=True, max_length=255)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('order_external_id', fields.CharField(null=True, max_length=255)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'coupons', 'app': 'models', 'indexes': [Index(fields=['member_id', 'reward_id'])], 'pk_attr': 'id', 'table_description': 'A code issued by a redemption: issued, then used once, expired or cancelled.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Donation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reward', fields.ForeignKeyField('models.Reward', source_field='reward_id', db_constraint=True, to_field='id', related_name='donations', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='donations', on_delete=OnDelete.RESTRICT)),
                ('cause', fields.CharField(db_index=True, max_length=255)),
                ('points', fields.IntField()),
                ('value_cents', fields.BigIntField()),
                ('redeem_key', fields.CharField(unique=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'donations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Points a member gave to a charity cause through a donation reward.'},
            bases=['Model'],
        ),
    ]
