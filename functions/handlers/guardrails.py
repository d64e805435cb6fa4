"""Lambda function behind the API's guardrails route."""

from functions.api.routes.guardrails import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
