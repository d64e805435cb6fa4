"""Lambda function behind the reviewer routes (`/v1/review`), for members of the reviewers group."""

from functions.api.routes.review import router
from functions.handlers.api_gateway import lambda_handler_for

handler = lambda_handler_for(router)
