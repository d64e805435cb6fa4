"""FastAPI dependencies: the routes reach the adapters through the app's Services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from functions.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
