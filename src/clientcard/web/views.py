"""The web interface's routes, gathered: login, the customer list and card, the case page,
the administration screens."""

from __future__ import annotations

from fastapi import APIRouter

from clientcard.web import (
    admin_campaigns_views,
    admin_config_views,
    admin_fields_views,
    admin_users_views,
    admin_views,
    auth_views,
    case_views,
    customer_views,
    preference_views,
    profile_views,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth_views.router)
router.include_router(customer_views.router)
router.include_router(case_views.router)
router.include_router(preference_views.router)
router.include_router(profile_views.router)
router.include_router(admin_views.router)
router.include_router(admin_users_views.router)
router.include_router(admin_campaigns_views.router)
router.include_router(admin_config_views.router)
router.include_router(admin_fields_views.router)
