"""Every audit action in words: the one map the audit-log page (and its CSV) reads.

Each action names what the actor did, as the rest of a sentence that starts with who did it
and ends with when: "Jo Bloggs (admin)" + "approved recruitment request R-7Q2K" + "on 5 Dec
2026 at 14:03". ``{target}`` is the event's target id, ``{participant}`` its participant id
(the registry's pseudonymous id, never an identity). Its details are shown under labels in
words; a criteria document is shown as a sentence, from the caller's ``in_words`` (the
eligibility package, a layer above this one, writes it), with its JSON one click away.

tests/test_audit_descriptions.py fails, naming them, for actions the code records that are
missing here: an action added anywhere must be described here too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.audit.models import AuditEvent

# Details that are criteria documents (shown as pretty JSON behind a "Show" toggle).
JSON_DETAILS = frozenset({"criteria", "document", "breakdown"})

# How a detail's key reads, wherever it appears.
DETAIL_LABELS: Mapping[str, str] = {
    "reason": "Reason",
    "status": "Response status",
    "method": "Request method",
    "level": "Withdrawal level",
    "cohort": "Cohort",
    "version": "Version",
    "site": "Site",
    "sites": "Sites",
    "role": "Role",
    "fields": "Fields",
    "count": "Number",
    "counts": "Numbers",
    "lists": "Contact lists",
    "expires_days": "Days until it expires",
    "epoch": "Key epoch",
    "filters": "Filters used",
    "rows": "Rows",
    "events": "Events checked",
    "intact": "Chain intact",
    "problem": "Problem found",
    "seq": "Event number",
    "shared": "Shared",
    "catalogue": "Catalogue version",
}

OUTCOME_WORDS: Mapping[str, str] = {
    "success": "Done",
    "denied": "Refused",
    "refused": "Refused",
    "failure": "Failed",
    "throttled": "Refused: too many attempts",
}


@dataclass(frozen=True)
class Description:
    """What the actor did, after their name and before when."""

    sentence: str
    label: str = ""  # for the action pick-list; the sentence without its ids if blank
    details: Mapping[str, str] = field(default_factory=dict)  # extra key -> label

    @property
    def choice_label(self) -> str:
        if self.label:
            return self.label
        words = self.sentence
        for placeholder in (" {target}", " {participant}", " ({part})"):
            words = words.replace(placeholder, "")
        return words[0].upper() + words[1:]


def _d(sentence: str, label: str = "", **details: str) -> Description:
    return Description(sentence, label, details)


DESCRIPTIONS: Mapping[str, Description] = {
    # signing in and accounts
    "auth.sign_in": _d("signed in", "Signed in (or tried to)"),
    "auth.sign_out": _d("signed out", provider_session="Identity provider's session"),
    "auth.oidc_link": _d(
        "linked user account {target} to the identity provider",
        "Linked to the identity provider",
    ),
    "auth.oidc_unlink": _d(
        "unlinked user account {target} from the identity provider",
        "Unlinked from the identity provider",
    ),
    "auth.totp_enrol": _d("set up their authenticator app"),
    "auth.totp_verify": _d("entered a security code", "Entered a security code"),
    "auth.second_factor_ended": _d("had their authenticator app reset"),
    "auth.reauthenticate": _d("was asked to confirm it was them again"),
    "access.denied": _d("was refused access to {target}", "Was refused access"),
    "security.csrf_failed": _d("sent a form that had expired to {target}", "Sent an expired form"),
    "security.throttled": _d("was stopped for too many attempts at {target}"),
    "user.create": _d("created user account {target}"),
    "user.deactivate": _d("deactivated user account {target}"),
    "user.change_password": _d("changed the password of user account {target}"),
    "user.end_sessions": _d("ended every session of user account {target}"),
    "user.change_access": _d("changed the role, site or organisation of user account {target}"),
    "user.reactivate": _d("reactivated user account {target}"),
    "user.reset_second_factor": _d(
        "reset the second factor of user account {target}, to be set up again at next sign-in"
    ),
    "token.issue": _d("issued API token {target}"),
    "token.revoke": _d("revoked API token {target}"),
    "site.add": _d("added site {target}"),
    "site.rename": _d("renamed site {target}"),
    "site.deactivate": _d("deactivated site {target}: it enrols no one"),
    "site.reactivate": _d("reactivated site {target}"),
    # keys and the audit log
    "keys.rotate": _d("started a new key epoch"),
    "keys.destroy_epoch": _d("destroyed key epoch {target}"),
    "keys.migrate": _d("moved the keys from the keyring file into the hardware security module"),
    "audit.view": _d("viewed the audit log", "Viewed the audit log"),
    "audit.download": _d("downloaded the audit log as CSV"),
    "audit.verify": _d("checked the audit chain"),
    "facts.refresh": _d("refreshed the derived facts"),
    "demo.seed_clinical": _d("added synthetic demonstration data"),
    # participants
    "participant.enrol": _d("enrolled participant {participant}"),
    "participant.import": _d("imported participants"),
    "participant.read_identity": _d("saw the name and NHS number of participant {participant}"),
    "participant.search_by_nhs_number": _d("searched for a participant by NHS number"),
    "participant.update_identity": _d("changed the identity details of participant {participant}"),
    "participant.correct_demographics": _d("corrected the details of participant {participant}"),
    "participant.correct_identifier": _d(
        "corrected the NHS number or date of birth of participant {participant}"
    ),
    "participant.shred": _d("destroyed the identity of participant {participant}"),
    "participant.withdraw": _d("recorded a withdrawal by participant {participant}"),
    "participant.timeline": _d("looked at the consent timeline of participant {participant}"),
    "consent.record": _d("recorded consent for participant {participant}"),
    "consent_form.add": _d("added consent form version {target}"),
    "assessment.record": _d("recorded a rating for participant {participant}"),
    "assessment.risk_prompt_shown": _d(
        "was shown the prompt to follow the service's risk procedure (PHQ-9 item 9 above 0) "
        "for participant {participant}"
    ),
    "treatment_trial.record": _d("recorded a treatment trial for participant {participant}"),
    # research
    "eligibility.count": _d("counted who meets a study's criteria"),
    "eligibility.saved_query.": _d("saved query {target} ({part})", "Saved a query"),
    "grant.create": _d("created data-access grant {target}"),
    "grant.revoke": _d("revoked data-access grant {target}"),
    "grant.renew": _d("renewed data-access grant {target}"),
    "grant.add_researcher": _d("added a researcher to data-access grant {target}"),
    "grant.remove_researcher": _d("removed a researcher from data-access grant {target}"),
    "export.extract": _d("made an extract under data-access grant {target}"),
    "export.fhir": _d("exported FHIR data under data-access grant {target}"),
    "export.participants": _d("exported participants' rows under data-access grant {target}"),
    "privacy.allowance_set": _d("changed a partner's privacy allowance"),
    "reference.load": _d("loaded a reference population"),
    "datasheet.write": _d("edited a cohort datasheet"),
    # recruitment
    "recruitment.submit": _d("submitted recruitment request {target}"),
    "recruitment.approve": _d("approved recruitment request {target}"),
    "recruitment.reject": _d("rejected recruitment request {target}"),
    "recruitment.confirm": _d("confirmed recruitment request {target}"),
    "recruitment.close": _d("closed recruitment request {target}"),
    "recruitment.release": _d("released the contact list of recruitment request {target}"),
    "recruitment.outcome": _d("recorded a contact's outcome for recruitment request {target}"),
    "recruitment.leave_lists": _d("took participant {participant} off contact lists"),
    # a refusal the request boundary kept on record: "refused." + the error's code
    "refused.": _d("was refused at {target} ({part})", "Was refused"),
}

# Actions recorded with a varying last part (an f-string): described by what they start with.
FAMILIES = tuple(name for name in DESCRIPTIONS if name.endswith("."))


def description_of(action: str) -> Description | None:
    if action in DESCRIPTIONS:
        return DESCRIPTIONS[action]
    family = next((prefix for prefix in FAMILIES if action.startswith(prefix)), None)
    return None if family is None else DESCRIPTIONS[family]


def action_choices() -> dict[str, str]:
    """Action -> its words, for a pick-list, in the words' order."""
    labels = {name: d.choice_label for name, d in DESCRIPTIONS.items()}
    return dict(sorted(labels.items(), key=lambda item: item[1]))


@dataclass(frozen=True)
class DescribedEvent:
    seq: int
    sentence: str
    outcome: str
    details: list[tuple[str, str]]  # label, value in words
    documents: list[tuple[str, str]]  # label, pretty JSON


def when(at: str) -> str:
    """ "on 5 Dec 2026 at 14:03" (UTC, as recorded)."""
    instant = dt.datetime.fromisoformat(at).astimezone(dt.UTC)
    return f"on {instant.day} {instant:%b %Y} at {instant:%H:%M}"


def describe(
    event: AuditEvent,
    actor_name: str,
    in_words: Callable[[str, Any], str | None] = lambda key, value: None,
) -> DescribedEvent:
    """The event in words, its actor already named (users are looked up above this layer);
    ``in_words(key, document)`` may put a document detail (criteria) in words."""
    description = description_of(event.action)
    if description is None:  # recorded before it had words, or by a newer version
        what = f"did {event.action.replace('_', ' ').replace('.', ': ')}"
    else:
        what = description.sentence.format(
            target=event.target_id or "",
            participant=event.participant_id or "",
            part=event.action.rsplit(".", 1)[-1].replace("_", " "),
        )
    sentence = f"{actor_name} {what} {when(event.at)}"
    details = json.loads(event.details or "{}")
    labels = {**DETAIL_LABELS, **(description.details if description else {})}
    shown: list[tuple[str, str]] = []
    documents: list[tuple[str, str]] = []
    for key, value in details.items():
        label = labels.get(key, key.replace("_", " ").capitalize())
        if key in JSON_DETAILS or isinstance(value, dict):
            plain = in_words(key, value)
            if plain is not None:
                shown.append((label, plain))
            documents.append((label, json.dumps(value, indent=2, sort_keys=True)))
        else:
            shown.append((label, _in_words(value)))
    outcome = OUTCOME_WORDS.get(event.outcome, event.outcome.capitalize())
    return DescribedEvent(event.seq, sentence, outcome, shown, documents)


def _in_words(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_in_words(item) for item in value) or "none"
    if value is None:
        return "none"
    return str(value).replace("_", " ")
