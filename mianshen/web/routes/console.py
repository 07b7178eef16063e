"""部门工作台: policies (check, test, simulate, publish, lists), the review queue, objections, payments.

The handlers live in `mianshen.web.console`; this module only gathers their routers.
"""

from __future__ import annotations

from fastapi import APIRouter

from mianshen.web.console import (
    bulk_routes,
    case_routes,
    cosign_routes,
    draft_routes,
    inbox_routes,
    payment_item_routes,
    payment_routes,
    policy_routes,
)

router = APIRouter()
for module in (
    policy_routes,
    cosign_routes,
    bulk_routes,
    case_routes,
    payment_routes,
    payment_item_routes,
    draft_routes,
    inbox_routes,
):
    router.include_router(module.router)
