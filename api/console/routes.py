"""The console's routes, all under ``/console``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.console import members, operations, overview, programme, signin


async def home(_: Request) -> Response:
    return RedirectResponse("/console/overview", status_code=303)


def mount() -> Mount:
    """Everything under ``/console``."""
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/sign-in", signin.sign_in, methods=["GET", "POST"]),
        Route("/sign-out", signin.sign_out, methods=["POST"]),
        Route("/overview", overview.overview),
        Route("/members", members.member_list),
        Route("/members/{member_id}", members.member_page),
        Route("/members/{member_id}/adjust", members.adjust, methods=["POST"]),
        Route("/rewards", programme.rewards),
        Route("/rewards/new", programme.reward_new),
        Route("/rewards/new", programme.reward_create, methods=["POST"]),
        Route("/rewards/{reward_id}", programme.reward_edit),
        Route("/rewards/{reward_id}", programme.reward_update, methods=["POST"]),
        Route("/rewards/{reward_id}/deactivate", programme.reward_deactivate, methods=["POST"]),
        Route("/programme", programme.programme),
        Route("/programme/{slug}", programme.rule_form),
        Route("/programme/{slug}", programme.rule_save, methods=["POST"]),
        Route("/segments", operations.segments),
        Route("/segments.csv", operations.segment_csv),
        Route("/deliveries", operations.deliveries),
        Route("/deliveries/out/{delivery_id}/retry", operations.retry_outgoing, methods=["POST"]),
        Route("/deliveries/in/{delivery_id}/replay", operations.replay_incoming, methods=["POST"]),
        Route("/models", operations.models),
        Mount("/static", StaticFiles(packages=[("api.console", "static")]), name="static"),
    ]
    return Mount("/console", routes=routes)
