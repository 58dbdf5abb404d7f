"""program: the active configuration, public."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from api.context import Info
from api.program.types import Program


@strawberry.type
class ProgramQuery:
    @strawberry.field(description="The programme's active configuration.")
    async def program(self, info: Info) -> Program:
        config = await info.context.program()
        return Program.of(info.context.settings, config, datetime.now(UTC))
