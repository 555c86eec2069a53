"""The web interface's routes, gathered: login, the customer list and card, the case page."""

from __future__ import annotations

from fastapi import APIRouter

from clientcard.web import auth_views, case_views, customer_views

router = APIRouter(include_in_schema=False)
router.include_router(auth_views.router)
router.include_router(customer_views.router)
router.include_router(case_views.router)
