"""program: the active configuration, public; programRules: every saved rule (admin)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from api.context import Info, Role, require
from api.program.types import Program, ProgramRules
from loyalty.programme import admin


@strawberry.type
class ProgramQuery:
    @strawberry.field(description="The programme's active configuration.")
    async def program(self, info: Info) -> Program:
        config = await info.context.program()
        return Program.of(info.context.settings, config, datetime.now(UTC))

    @strawberry.field(
        description="Every tier, earning rule, campaign, action rule and paid plan, active or "
        "not (admin)."
    )
    async def program_rules(self, info: Info) -> ProgramRules:
        require(info, Role.ADMIN)
        return ProgramRules.of(await admin.every_rule())
