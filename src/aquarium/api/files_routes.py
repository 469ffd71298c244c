"""Result file downloads: ``/v1/file/{id}``, ``/v1/files/{id}``, ``/apps/api/file/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from aquarium.api import deps
from aquarium.domain import tenancy

router = APIRouter(tags=["Files"])

Services = Annotated[deps.AppServices, Depends(deps.services)]
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def download_file(file_id: str, services: Services, caller: Caller) -> FileResponse:
    """A result file as stored (CSV, gzip or zip), with Range support for resuming."""
    found = services.aqua.file(caller, file_id)
    return FileResponse(
        found.path,
        media_type=found.content_type,
        headers={"Digest": f"sha-256={found.sha256}", "X-Checksum-Sha256": found.sha256},
    )


for path, name in (
    ("/v1/file/{file_id}", "download_file"),
    ("/v1/files/{file_id}", "download_file_plural"),
    ("/apps/api/file/{file_id}", "download_file_legacy"),
):
    router.add_api_route(
        path, download_file, methods=["GET"], summary="Download a result file", operation_id=name
    )
