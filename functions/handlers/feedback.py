"""Lambda function behind the API's feedback route."""

from functions.api.routes.feedback import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
