from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ledger import EntryKind
from models.rewards import CouponStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# The audit log is append-only: the database itself refuses to change or remove an entry.
_SQLITE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
_DROP_SQLITE = ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
_DROP_POSTGRES = [
    "DROP TRIGGER audit_log_no_change ON audit_log",
    "DROP FUNCTION audit_log_append_only()",
]


def _is_sqlite(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "sqlite"


async def audit_log_append_only(apps, schema_editor) -> None:
    for statement in _SQLITE if _is_sqlite(schema_editor) else _POSTGRES:
        await schema_editor.client.execute_script(statement)


async def allow_audit_log_changes(apps, schema_editor) -> None:
    for statement in _DROP_SQLITE if _is_sqlite(schema_editor) else _DROP_POSTGRES:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0012_guest_orders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=64)),
                ('operation', fields.CharField(max_length=64)),
                ('target', fields.CharField(null=True, max_length=128)),
                ('input', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('changes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'indexes': [Index(fields=['target', 'id']), Index(fields=['operation', 'id']), Index(fields=['at'])], 'pk_attr': 'id', 'table_description': 'One change made through the API: who, what, on what, with which input and effect.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Erasure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='erasure', on_delete=OnDelete.RESTRICT)),
                ('external_id_digest', fields.CharField(db_index=True, max_length=64)),
                ('reason', fields.CharField(max_length=255)),
                ('erased_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'member_erasures', 'app': 'models', 'pk_attr': 'id', 'table_description': "The tombstone of an erased member: a keyed digest of the shop's id it had (the id itself"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TokenRevocation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='token_revocations', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'token_revocations', 'app': 'models', 'pk_attr': 'id', 'table_description': "A member's token version was raised: tokens carrying a lower one answer 401. Processes"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Coupon',
            name='status',
            field=fields.CharEnumField(default=CouponStatus.ISSUED, description='ISSUED: issued\nUSED: used\nEXPIRED: expired\nCANCELLED: cancelled\nVOIDED: voided', enum_type=CouponStatus, max_length=12),
        ),
        ops.AlterField(
            model_name='LedgerEntry',
            name='kind',
            field=fields.CharEnumField(description='EARN_ORDER: earn_order\nEARN_ACTION: earn_action\nBONUS: bonus\nREFERRAL: referral\nREDEEM: redeem\nEXPIRE: expire\nREVERSAL: reversal\nADJUST: adjust\nDONATE: donate\nERASE: erase', enum_type=EntryKind, max_length=16),
        ),
        ops.AddField(
            model_name='Member',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='token_version',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(audit_log_append_only, reverse_code=allow_audit_log_changes),
    ]
