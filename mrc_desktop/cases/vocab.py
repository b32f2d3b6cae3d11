"""The case log's fixed vocabularies (labels marked for translation, shown via ``_``).

Grievance categories and intake choices follow seed-brief §10B–C. Status is "regular" or
"irregular" — never "illegal"; skill level is never "unskilled".
"""

from __future__ import annotations

from mrc_desktop.i18n import N_

STATUSES = {
    "new": N_("New"),
    "in_progress": N_("In progress"),
    "referred": N_("Referred"),
    "awaiting_response": N_("Awaiting response"),
    "resolved": N_("Resolved"),
    "closed_unresolved": N_("Closed, unresolved"),
    "withdrawn": N_("Withdrawn"),
}
OPEN_STATUSES = ("new", "in_progress", "referred", "awaiting_response")

CATEGORIES = {
    "excessive_fees": N_("Excessive or illegal recruitment fees"),
    "deception": N_("Deceptive recruitment or misinformation"),
    "unlicensed_recruiter": N_("Unlicensed recruiter or collusion between recruiters"),
    "contract_substitution": N_("Contract substitution"),
    "documents_held": N_("Passport or identity document kept by someone else"),
    "wages": N_("Unpaid, withheld or illegally deducted wages"),
    "unequal_treatment": N_("Unequal pay or conditions compared with nationals"),
    "forced_labour": N_("Forced labour indicators or suspected trafficking"),
    "tied_employment": N_("Tied employment or kafala preventing a change of employer"),
    "status_loss": N_("Loss of status after dismissal, or threat of deportation"),
    "social_security": N_("Social security denied or not portable"),
    "injury": N_("Work injury without compensation, or unsafe conditions"),
    "discrimination": N_("Discrimination (sex, age, HIV status, nationality)"),
    "child_services": N_("Child denied health care or schooling"),
    "union_rights": N_("Union rights denied, or retaliation for organizing or complaining"),
    "accommodation": N_("Poor accommodation or health care"),
    "deskilling": N_("Skills not recognised or deskilling"),
    "crisis": N_("Caught in a crisis or emergency, needing a safe haven"),
}

# The 11 ILO indicators of forced labour (2012), legal-facts §4.
FORCED_LABOUR_INDICATORS = {
    "vulnerability": N_("Abuse of vulnerability"),
    "deception": N_("Deception"),
    "movement": N_("Restriction of movement"),
    "isolation": N_("Isolation"),
    "violence": N_("Physical and sexual violence"),
    "threats": N_("Intimidation and threats"),
    "documents": N_("Retention of identity documents"),
    "wages": N_("Withholding of wages"),
    "debt": N_("Debt bondage"),
    "conditions": N_("Abusive working and living conditions"),
    "overtime": N_("Excessive overtime"),
}

CONSENT_PURPOSES = {
    "counselling": N_("Counselling at this centre"),
    "referral": N_("Referral to another organisation"),
    "union": N_("Sharing with a union"),
    "statistics": N_("Anonymous statistics"),
    "sync": N_("Sending to the network hub"),
}

MIGRATION_STATUS = {
    "regular": N_("Regular"),
    "irregular": N_("Irregular"),
    "unknown": N_("Not known"),
}
STAGES = {
    "pre_departure": N_("Before departure"),
    "transit": N_("In transit"),
    "abroad": N_("Abroad"),
    "returned": N_("Returned"),
}
SEXES = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "not_said": N_("Prefers not to say"),
}
SECTORS = {
    "agriculture": N_("Agriculture"),
    "construction": N_("Construction"),
    "domestic_work": N_("Domestic work"),
    "fishing": N_("Fishing"),
    "manufacturing": N_("Manufacturing"),
    "garments": N_("Garments"),
    "hospitality": N_("Hospitality"),
    "health": N_("Health care"),
    "other": N_("Other"),
}
CHANNELS = {
    "private_agency": N_("Private agency"),
    "public_service": N_("Public employment service"),
    "g2g": N_("Government-to-government (e.g. EPS)"),
    "direct": N_("Direct hiring"),
    "informal": N_("Informal broker"),
}
ROLES = {
    "counsellor": N_("Counsellor"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrator"),
}
# A recruitment agency's licence as the centre last checked it (agency register).
LICENCE_STATUS = {
    "valid": N_("Licensed"),
    "suspended": N_("Licence suspended"),
    "revoked": N_("Licence revoked"),
    "unlicensed": N_("Not licensed"),
    "unknown": N_("Not known"),
}
ENTRY_KINDS = (
    "note",
    "action",
    "referral",
    "referral_update",
    "follow_up",
    "follow_up_done",
    "fee_check",
    "document",
)
ORG_KINDS = {
    "union": N_("Union"),
    "legal_aid": N_("Legal aid"),
    "labour_office": N_("Labour office"),
    "embassy": N_("Embassy"),
    "ngo": N_("NGO"),
}

YES_NO_UNKNOWN = {
    "yes": N_("Yes"),
    "no": N_("No"),
    "unknown": N_("Not known"),
}
RETALIATION_RISK = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "not_assessed": N_("Not assessed"),
}
DOCUMENT_HOLDERS = {
    "worker": N_("The worker"),
    "employer": N_("The employer"),
    "agency": N_("The recruitment agency"),
    "other": N_("Someone else"),
    "unknown": N_("Not known"),
}
REFERRAL_OUTCOMES = {
    "accepted": N_("Accepted, being handled"),
    "resolved": N_("Resolved"),
    "declined": N_("Declined"),
    "no_response": N_("No response"),
}
