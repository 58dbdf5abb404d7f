"""The committed contract snapshot must match the printed schema."""

from api.schema import SCHEMA_FILE, printed


def test_printed_schema_matches_the_committed_snapshot():
    assert SCHEMA_FILE.read_text() == printed(), (
        "api/schema.graphql is out of date: run `python -m api.schema` and review the diff"
    )


def test_contract_names_are_present():
    schema = printed()
    for name in (
        "program: Program!",
        "me: Member",
        "member(id: ID",
        "members(first: Int",
        "previewPoints(input: PreviewPointsInput!): PointsPreview!",
        "enrollMember(input: EnrollMemberInput!): EnrollMemberPayload!",
        "issueMemberToken(externalId: String!): IssueMemberTokenPayload!",
        "recordOrder(input: RecordOrderInput!): RecordOrderPayload!",
        "refundOrder(input: RefundOrderInput!): RefundOrderPayload!",
        "adjustPoints(input: AdjustPointsInput!): AdjustPointsPayload!",
    ):
        assert name in schema, name
