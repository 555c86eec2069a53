"""The ASGI application, configured from the environment: `uvicorn clientcard.asgi:app`."""

from clientcard.app import create_app
from clientcard.process import tune_collector

app = create_app()
tune_collector()
