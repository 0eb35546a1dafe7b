"""Clinical records: attachments, post-visit notes, prescriptions and medical profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from gateway.loaders import (
    Raw,
)

from ._convert import (
    as_bool,
    as_datetime,
    as_id,
    as_int,
    as_list,
    as_text,
    resolve_file,
)
from .context import Info
from .enums import PrescriptionStatus, from_text_code
from .node import global_id
from .scalars import URL


@strawberry.type(description="A file attached to an intake or a post-visit note.")
class Attachment:
    id: strawberry.ID | None = strawberry.field(
        description="Global id (`Attachment` + VSee's file id); null if VSee sent none."
    )
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's own file id, as `attachmentIds` takes it."
    )
    name: str | None = strawberry.field(description="Stored file name.")
    path: str | None = strawberry.field(
        description="VSee's storage path of the file exactly as VSee sent it, relative (e.g. "
        "files/2016/08/17/<id>.png); `url` is where it is."
    )
    size: int | None = strawberry.field(description="Bytes.")
    ext: str | None = strawberry.field(description="File extension, e.g. png.")
    creator_id: strawberry.ID | None = strawberry.field(
        description="VSee user id of whoever uploaded it (`creator_id`)."
    )
    remark: str | None = strawberry.field(description="Free-text note on the file; null when none.")
    created_at: datetime | None = strawberry.field(
        description="When the file was uploaded (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the file record last changed (`modified`)."
    )

    @strawberry.field(
        description="Where the file is: `path` resolved against the gateway's VSee api_v3 base "
        "URL (`VSEE_API_URL`), e.g. https://api.vseepreview.com/vc/next/api_v3/files/2016/08/17/"
        "<id>.png. INFERRED: VSee's docs give only the relative path; its own absolute file "
        "URLs (a provider's photo) live under the api_v3 base, so the path is read as relative "
        "to it, and downloading it may need the caller's VSee credentials. Always under that "
        "base: null when there is no path, when the path is not a plain relative one (dot "
        "segments, plain or percent-encoded, a query, another scheme) or is an absolute URL "
        "anywhere else (counted as unconvertible), and "
        "whenever the gateway's upstream is on an internal address (the embedded sandbox, "
        "loopback, private networks, single-label service names): such a URL would only name "
        "an address inside the deployment."
    )
    def url(self, info: Info) -> URL | None:
        return cast(URL | None, resolve_file(info.context.services.files_base, self.path))

    @classmethod
    def from_raw(cls, raw: Raw | str) -> Attachment:
        if not isinstance(raw, dict):
            return cls(
                id=global_id("Attachment", raw),
                database_id=strawberry.ID(str(raw)),
                name=None,
                path=None,
                size=None,
                ext=None,
                creator_id=None,
                remark=None,
                created_at=None,
                updated_at=None,
            )
        creator = as_id(raw.get("creator_id"))
        key = as_id(raw.get("_id")) or as_id(raw.get("id"))
        return cls(
            id=global_id("Attachment", key) if key else None,
            database_id=strawberry.ID(key) if key else None,
            name=as_text(raw.get("name")),
            path=as_text(raw.get("path")),
            size=as_int(raw.get("size")),
            ext=as_text(raw.get("ext")),
            creator_id=strawberry.ID(creator) if creator else None,
            remark=as_text(raw.get("remark")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
        )


def attachments_of(value: Any) -> list[Attachment]:
    """VSee sends attachments as objects, id strings, a comma-separated string, or ``""``."""
    if isinstance(value, str):
        return [Attachment.from_raw(part.strip()) for part in value.split(",") if part.strip()]
    return [
        Attachment.from_raw(item)
        for item in as_list(value)
        if isinstance(item, dict) or (isinstance(item, str) and item.strip())
    ]


# PostVisit, Prescription and MedicalProfile are values embedded in a visit or intake, with no
# VSee endpoint of their own: VSee's id is `databaseId`, never `id`, so a normalized client
# cache keeps them inside their parent rather than as entities it could never refetch.
@strawberry.type(
    description="The clinician's note written after a visit (HTML in some fields): a value "
    "embedded in its visit (no `id`: VSee has no endpoint to read the notes again)."
)
class PostVisit:
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the visit notes (`id`); null when VSee sends none (its "
        "e-consult answer shows notes without one)."
    )
    member_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the member the notes are about."
    )
    visit_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the visit the notes belong to."
    )
    is_draft: bool | None = strawberry.field(
        description="Whether the provider has not finished the notes yet (`draft`)."
    )
    modified_by: str | None = strawberry.field(description="Name of the last editor.")
    reason_for_visit: str | None = strawberry.field(
        description="Reason for the visit as the provider recorded it."
    )
    physical_exam: str | None = strawberry.field(description="HTML.")
    assessment_plan: str | None = strawberry.field(description="HTML.")
    diagnosis: str | None = strawberry.field(
        description='Diagnoses as VSee\'s text, e.g. "Asthma (J45.909)".'
    )
    patient_instructions: str | None = strawberry.field(description="HTML.")
    disposition: str | None = strawberry.field(
        description='What happens next, e.g. "Referred to ED".'
    )
    attachments: list[Attachment] = strawberry.field(
        description="Files the provider attached to the notes."
    )
    created_at: datetime | None = strawberry.field(
        description="When the notes were created (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the notes last changed (`modified`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> PostVisit:
        def _id(key: str) -> strawberry.ID | None:
            value = as_id(raw.get(key))
            return strawberry.ID(value) if value else None

        return cls(
            database_id=_id("id"),
            member_id=_id("member_id"),
            visit_id=_id("visit_id"),
            is_draft=as_bool(raw.get("draft")),
            modified_by=as_text(raw.get("modifiedBy")),
            reason_for_visit=as_text(raw.get("reason_for_visit")),
            physical_exam=as_text(raw.get("physical_exam")),
            assessment_plan=as_text(raw.get("assessment_plan")),
            diagnosis=as_text(raw.get("diagnosis")),
            patient_instructions=as_text(raw.get("patient_instructions")),
            disposition=as_text(raw.get("disposition")),
            attachments=attachments_of(raw.get("attachments")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
        )


@strawberry.type(
    description="A prescription (VSee's e-prescribing record): a value embedded in its visit "
    "(no `id`: VSee has no endpoint to read a prescription again)."
)
class Prescription:
    database_id: strawberry.ID | None = strawberry.field(
        description="The e-prescribing system's id of the prescription (`ID`); null when none."
    )
    drug_id: str | None = strawberry.field(description="The drug's id (`DrugID`).")
    ndc: str | None = strawberry.field(description="National Drug Code.")
    rx_norm_code: str | None = strawberry.field(
        description="RxNorm code of the drug (`RxNormCode`)."
    )
    drug: str | None = strawberry.field(description="Drug name (`Drug`).")
    directions: str | None = strawberry.field(description="Dosing directions (`Directions`).")
    quantity: float | None = strawberry.field(description="Quantity prescribed (`Qty`).")
    quantity_unit: str | None = strawberry.field(
        description="Unit of the quantity, e.g. Tablet (`QtyQual`)."
    )
    refills: int | None = strawberry.field(description="Refills allowed (`Refills`).")
    days_supply: int | None = strawberry.field(description="Days the supply lasts (`DaysSupply`).")
    status: PrescriptionStatus | None = strawberry.field(
        description="Where the prescription stands (`Status`); null when VSee sends none, "
        "UNKNOWN for a status this gateway does not know."
    )
    status_code: str | None = strawberry.field(
        description="VSee's raw `Status` text, e.g. Current."
    )
    prescriber_name: str | None = strawberry.field(
        description="Who prescribed it (`PrescriberName`)."
    )
    prescribed_on: datetime | None = strawberry.field(
        description="When it was prescribed (`PrescriptionDate`)."
    )
    raw: JSON = strawberry.field(description="Every field as VSee sent it.")

    @classmethod
    def from_raw(cls, raw: Raw) -> Prescription:
        pid, status = as_id(raw.get("ID") or raw.get("id")), as_text(raw.get("Status"))
        return cls(
            database_id=strawberry.ID(pid) if pid else None,
            drug_id=as_text(raw.get("DrugID")),
            ndc=as_text(raw.get("NDC")),
            rx_norm_code=as_text(raw.get("RxNormCode")),
            drug=as_text(raw.get("Drug")),
            directions=as_text(raw.get("Directions")),
            quantity=float(raw["Qty"]) if isinstance(raw.get("Qty"), (int, float)) else None,
            quantity_unit=as_text(raw.get("QtyQual")),
            refills=as_int(raw.get("Refills")),
            days_supply=as_int(raw.get("DaysSupply")),
            status=None if status is None else from_text_code(PrescriptionStatus, status),
            status_code=status,
            prescriber_name=as_text(raw.get("PrescriberName")),
            prescribed_on=as_datetime(raw.get("PrescriptionDate")),
            raw=JSON(raw),
        )


@strawberry.type(description="One section of a medical profile (e.g. conditions, surgeries).")
class MedicalSection:
    entries: list[JSON] = strawberry.field(description="The section's records, as VSee sent them.")
    updated_at: datetime | None = strawberry.field(
        description="When the section last changed (`modified`)."
    )
    modified_by: str | None = strawberry.field(
        description="Name of whoever last changed the section (`modifiedBy`)."
    )

    @classmethod
    def from_raw(cls, raw: Any) -> MedicalSection | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            entries=[JSON(e) for e in as_list(raw.get("data")) if isinstance(e, dict)],
            updated_at=as_datetime(raw.get("modified")),
            modified_by=as_text(raw.get("modifiedBy")),
        )


@strawberry.type(
    description="A member's medical history as kept by VSee: a value embedded in an intake (no "
    "`id`: VSee has no endpoint to read a profile again)."
)
class MedicalProfile:
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the medical profile (`_id`); null when VSee sends none."
    )
    user_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the member the profile belongs to (`user_id`)."
    )
    conditions: MedicalSection | None = strawberry.field(description="Medical conditions.")
    family_conditions: MedicalSection | None = strawberry.field(
        description="Family history: conditions and which relatives had them."
    )
    social_history: MedicalSection | None = strawberry.field(description="Social history.")
    health_habits: MedicalSection | None = strawberry.field(description="Health habits.")
    surgeries: MedicalSection | None = strawberry.field(
        description="Past surgeries and procedures."
    )
    medications: MedicalSection | None = strawberry.field(description="Current medications.")
    allergies: MedicalSection | None = strawberry.field(description="Allergies.")
    created_at: datetime | None = strawberry.field(
        description="When the profile was created (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the profile last changed (`modified`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> MedicalProfile:
        pid, uid = as_id(raw.get("_id") or raw.get("id")), as_id(raw.get("user_id"))
        return cls(
            database_id=strawberry.ID(pid) if pid else None,
            user_id=strawberry.ID(uid) if uid else None,
            conditions=MedicalSection.from_raw(raw.get("conditions")),
            family_conditions=MedicalSection.from_raw(raw.get("family_conditions")),
            social_history=MedicalSection.from_raw(raw.get("social_history")),
            health_habits=MedicalSection.from_raw(raw.get("health_habits")),
            surgeries=MedicalSection.from_raw(raw.get("surgeries")),
            medications=MedicalSection.from_raw(raw.get("medications")),
            allergies=MedicalSection.from_raw(raw.get("allergies")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
        )
