"""The streaming function's app: POST /v1/query/stream and POST /v1/guest-sessions, served by
uvicorn behind the Lambda Web Adapter (see infra/widget.py); `/health` is its readiness check."""

from functions.api.app import create_app
from functions.api.routes import guests, stream

app = create_app([stream.router, guests.router], flush_metrics_per_request=True)
