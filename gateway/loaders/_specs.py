"""Which of VSee's keys answer each GraphQL field of each object (see ``_selection``).

An object lacking a key its selection needs is completed through its detail loader; these
tables are the schema's fetching strategy, kept beside the loaders that carry it out.
"""

from __future__ import annotations

from ._selection import FREE, Spec, keys

PAYMENT_SPEC: Spec = {
    "databaseId": keys("id"),
    "amount": keys("amount"),
    "durationMinutes": keys("duration"),
    "description": keys("description"),
}

INVOICE_SPEC: Spec = {
    "databaseId": keys("id"),
    "status": keys("status"),
    "statusCode": keys("status"),
    "amountDue": keys("amount_due"),
    "isLive": keys("livemode"),
    "createdAt": keys("created"),
    "updatedAt": keys("modified"),
}

MEETING_SPEC: Spec = {
    "meetingId": keys("meeting_id"),
    "conferencePin": keys("conference_pin"),
    "expiry": keys("expiry"),
    "hosts": keys("hosts"),
    "phoneNumbers": keys("phone_numbers"),
    "recordingAutoStart": keys("recording_auto_start"),
}

POSTVISIT_SPEC: Spec = {
    "databaseId": keys("id"),
    "memberId": keys("member_id"),
    "visitId": keys("visit_id"),
    "isDraft": keys("draft"),
    "modifiedBy": keys("modifiedBy"),
    "reasonForVisit": keys("reason_for_visit"),
    "physicalExam": keys("physical_exam"),
    "assessmentPlan": keys("assessment_plan"),
    "diagnosis": keys("diagnosis"),
    "patientInstructions": keys("patient_instructions"),
    "disposition": keys("disposition"),
    "attachments": keys("attachments"),
    "createdAt": keys("created"),
    "updatedAt": keys("modified"),
}

CALL_LOG_SPEC: Spec = {
    "totalStart": keys("total_start"),
    "totalEnd": keys("total_end"),
    "totalDurationSeconds": keys("total_duration"),
    "waitingSeconds": keys("waiting_time"),
    "source": keys("source"),
    "patients": keys("patients"),
    "sourceIds": keys("source_ids"),
}

USER_REF_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "vseeId": keys("vseeid"),
    "userType": keys("type"),
    "userTypeCode": keys("type"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "accountCode": keys("account_code"),
}

ACCOUNT_SPEC: Spec = {"code": keys("code"), "name": keys("name"), "domain": keys("domain")}

ROOT_VISIT_SPEC: Spec = {
    "id": keys("id"),
    "groupChatId": keys("group_chat_id"),
    "participants": keys("participants"),
}

_FULL_NAME = keys("full_name", "first_name", "last_name")

MEMBER_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "fullName": _FULL_NAME,
    "username": keys("username"),
    "email": keys("email"),
    "phone": keys("phone"),
    "dob": keys("dob"),
    "gender": keys("gender"),
    "vseeId": keys("vseeid"),
    "photo": keys("photo"),
    "isActive": keys("active"),
}

PROVIDER_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "username": keys("username"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "fullName": _FULL_NAME,
    "title": keys("title"),
    "suffix": keys("suffix"),
    "email": keys("email"),
    "phone": keys("phone"),
    "subtype": keys("subtype"),
    "vseeId": keys("vseeid"),
    "photo": keys("photo"),
    "status": keys("status"),
    "statusCode": keys("status"),
    "shortBio": keys("short_bio"),
}

ROOM_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "name": keys("name"),
    "slug": keys("slug"),
    "domain": keys("domain"),
    "createdAt": keys("created"),
    "updatedAt": keys("modified"),
}

INTAKE_SPEC: Spec = {
    "id": keys("id"),
    "type": keys("type"),
    "reasonForVisit": keys("reason_for_visit"),
    "location": keys("location"),
    "phone": keys("phone"),
    "consent": keys("consent"),
    "memberId": keys("member_id"),
    "providerId": keys("provider_id", "provider"),
    "roomCode": keys("room_code", "room"),
    "visitId": keys("visit_id"),
    "attachments": keys("attachments"),
    "consultation": keys("consultation"),
    "createdAt": keys("created"),
    "updatedAt": keys("modified"),
    "medicalProfile": keys("medical_profile"),
    "customFields": FREE,
    "visit": keys("visit_id"),
    "member": keys("member_id"),
    "provider": keys("provider_id", "provider"),
    "room": keys("room_code", "room"),
}

_TYPE, _STATUS = keys("type"), keys("status")

VISIT_SPEC: Spec = {
    "id": keys("id", "_id"),
    "code": keys("code"),
    "type": _TYPE,
    "typeCode": _TYPE,
    "subtype": keys("subtype", "subType"),
    "status": _STATUS,
    "statusCode": _STATUS,
    "start": keys("start"),
    "end": keys("end"),
    "actualStart": keys("actual_start"),
    "actualEnd": keys("actual_end"),
    "expiry": keys("expiry"),
    "createdAt": keys("created"),
    "updatedAt": keys("modified"),
    "state": keys("state"),
    "accountCode": keys("account_code"),
    "roomCode": keys("room_code"),
    "memberId": keys("member_id"),
    "providerId": keys("provider_id"),
    "intakeId": keys("intake_id"),
    "invoiceId": keys("invoice_id"),
    # VSee: present only on group appointments, so its absence is an answer.
    "visitGroupId": FREE,
    "isGroup": FREE,
    "relatedWalkinId": keys("related_walkin_id"),
    "isTest": keys("is_test"),
    "isEditExpired": keys("isEditExpired"),
    "payment": keys("payment", nested=PAYMENT_SPEC),
    "invoice": keys("invoice", nested=INVOICE_SPEC),
    "meeting": keys("meeting", nested=MEETING_SPEC),
    "postVisit": keys("postvisit", nested=POSTVISIT_SPEC),
    "callLog": keys("call_logs", nested=CALL_LOG_SPEC),
    "hosts": keys("hosts"),
    "creator": keys("creator", nested=USER_REF_SPEC),
    "account": keys("account", nested=ACCOUNT_SPEC),
    "prescriptions": keys("prescriptions"),
    "prescriptionsBeforeVisit": keys("prescriptionsBeforeVisit"),
    "oneTimeLinkToken": keys("one_time_link_token"),
    "isInCharge": keys("incharge"),
    "pendingActions": keys("pending_actions"),
    "hostIds": keys("host_ids"),
    "moreProviderIds": keys("more_provider_ids"),
    "guestEmails": keys("guest_emails"),
    "guestMobiles": keys("guest_mobiles"),
    "reminderType": keys("reminder_type"),
    "reminderTime": keys("reminder_time"),
    "notifyList": keys("notify_list"),
    "specialtyId": keys("specialty_id"),
    "completedBy": keys("completed_by"),
    "rootVisit": keys("root_visit", nested=ROOT_VISIT_SPEC),
    # Relations: the key that leads to the related object; the object's own fields are judged
    # by its resolver against what is embedded.
    "intake": keys("intake", "intake_id"),
    "provider": keys("provider", "provider_id"),
    "member": keys("member", "member_id"),
    "room": keys("room", "room_code"),
    "relatedWalkin": keys("related_walkin", "related_walkin_id"),
    "isUpcoming": keys("start"),
}
