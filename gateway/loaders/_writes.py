"""The write endpoints, each one upstream call, sent the way VSee's own examples send them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.upstream import Credentials, Envelope, FormFields, OutcomeUnknown, UpstreamClient

from ._availability import AvailabilityService
from ._loaders import Raw, RequestLoaders
from ._paths import intake_path, visit_path


def _object(data: Any) -> Raw:
    return data if isinstance(data, dict) else {}


class RequestWrites:
    """Mutations for one caller; keeps that request's loaders and the availability cache honest."""

    def __init__(
        self,
        client: UpstreamClient,
        credentials: Credentials,
        loaders: RequestLoaders,
        availability: AvailabilityService,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._loaders = loaders
        self._availability = availability

    # Intakes go as JSON (VSee takes form or JSON): a form would turn custom fields' numbers,
    # booleans and objects into strings.
    async def create_intake(self, body: Mapping[str, Any]) -> Raw:
        envelope = await self._client.post(
            "/intakes", self._credentials, endpoint="POST /intakes", json=body
        )
        return _object(envelope.data)

    async def update_intake(self, intake_id: str, body: Mapping[str, Any]) -> Raw:
        envelope = await self._client.post(
            intake_path(intake_id), self._credentials, endpoint="POST /intakes/{id}", json=body
        )
        self._loaders.intake.clear(intake_id)
        return _object(envelope.data)

    async def add_walkin(self, form: FormFields) -> Raw:
        envelope = await self._client.post(
            "/visits/add_walkin", self._credentials, endpoint="POST /visits/add_walkin", form=form
        )
        return _object(envelope.data)

    async def add_econsult(self, body: Mapping[str, Any]) -> Raw:
        # VSee's example for this endpoint alone sends JSON.
        envelope = await self._client.post(
            "/visits/add_econsult",
            self._credentials,
            endpoint="POST /visits/add_econsult",
            json=body,
        )
        return _object(envelope.data)

    async def _slot_write(
        self, path: str, endpoint: str, form: FormFields, params: dict[str, int] | None = None
    ) -> Envelope:
        """A write that changes slots: the account's availability is invalidated after it,
        and also when its outcome is unknown (it may have been made)."""
        try:
            envelope = await self._client.post(
                path, self._credentials, endpoint=endpoint, params=params, form=form
            )
        except OutcomeUnknown:
            await self._availability.invalidate(self._credentials)
            raise
        await self._availability.invalidate(self._credentials)
        return envelope

    async def create_appointment(self, form: FormFields) -> Raw:
        envelope = await self._slot_write("/appointments", "POST /appointments", form)
        return _object(envelope.data)

    async def update_visit(self, visit_id: str, form: FormFields) -> Raw:
        envelope = await self._slot_write(
            visit_path(visit_id), "POST /visits/{id}", form, params={"version": 2}
        )
        self._loaders.visit.clear(visit_id)
        return _object(envelope.data)

    async def close_visit(self, form: FormFields, visit_id: str) -> Raw:
        envelope = await self._slot_write("/visits/close", "POST /visits/close", form)
        # A later read in this request must show the closed visit, not the one loaded before.
        self._loaders.visit.clear(visit_id)
        return _object(envelope.data)
