"""Lambda function behind the API's erasure route (DELETE /v1/users/{user_id}/data)."""

from functions.api.routes.privacy import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
