"""The ASGI application, configured from the environment: `uvicorn clientcard.asgi:app`."""

from clientcard.app import create_app

app = create_app()
