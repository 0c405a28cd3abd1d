"""The clinician's participant pages, through the Flask test client: what a clinician sees,
what other roles and other sites are refused, and that every rule of the shared rulebook
shows at its field without writing anything."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEMS
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import Account, csrf_token_from, enrolment_body, new_nhs_number, post_form

pytestmark = pytest.mark.usefixtures("consent_forms")

SIGNED_ON = (clock.today() - dt.timedelta(days=7)).isoformat()
TOMORROW = (clock.today() + dt.timedelta(days=1)).isoformat()
LAST_WEEK = SIGNED_ON  # a day every rule accepts for a signing or an assessment
PHQ9_SCORING_17 = ["3", "2", "2", "2", "2", "2", "2", "1", "1"]


# -- what the user sees -----------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Page(HTMLParser):
    """A rendered page as a user meets it: the error summary's links, each field's inline
    error, what the fields hold, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self._open: list[tuple[str, dict[str, str | None]]] = []
        self._text_of: dict[str, list[str]] = defaultdict(list)
        self._link: list[str] | None = None
        self._select: str | None = None
        self.summary: list[tuple[str, str]] = []
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.checked: dict[str, str | None] = {}
        self.selected: dict[str, str | None] = {}
        self.words: list[str] = []
        self.links: list[str] = []
        self.feed(html)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def error_at(self, field_id: str) -> str:
        words = " ".join("".join(self._text_of[f"{field_id}-error"]).split())
        return words.removeprefix("Error:").strip()

    def value(self, field_id: str) -> str | None:
        return self.inputs[field_id].get("value")

    def text_of(self, key: str) -> str:
        """The text inside the element with this id or data-testid, a space between parts."""
        return " ".join(" ".join(self._text_of[key]).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if tag == "input" and found.get("id"):
            self.inputs[found["id"] or ""] = found
            if found.get("type") == "radio" and "checked" in found:
                self.checked[found.get("name") or ""] = found.get("value")
        elif tag == "select":
            self._select = found.get("name")
        elif tag == "option" and "selected" in found and self._select:
            self.selected[self._select] = found.get("value")
        elif tag == "a" and self._inside("nhsuk-error-summary"):
            self._link = [found.get("href") or "", ""]
        if tag not in _VOID:
            self._open.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.summary.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, found in self._open:
            for key in {found.get("id"), found.get("data-testid")} - {None}:
                self._text_of[key or ""].append(data)
        if self._link is not None:
            self._link[1] += data
        self.words.append(data)

    def _inside(self, css_class: str) -> bool:
        return any(css_class in (found.get("class") or "").split() for _, found in self._open)


# Dates in three boxes (day first) and months in two: the error summary links to the first.
DATE_FIELDS = {"date_of_birth", "consent_signed_on", "first_antipsychotic_on", "eip_accepted_on"}
MONTH_FIELDS = {"psychosis_onset", "episode_start"}


def summary_link(field_id: str) -> str:
    if field_id in DATE_FIELDS:
        return f"#{field_id}-day"
    return f"#{field_id}-month" if field_id in MONTH_FIELDS else f"#{field_id}"


def page_of(response: Any) -> Page:
    return Page(response.get_data(as_text=True))


# -- builders -------------------------------------------------------------------------------


def enrolment_form(cohort: str = "TRD", **answers: str | None) -> dict[str, str]:
    """A complete, valid enrolment as a clinician would fill in the form; an answer given
    as None is left unanswered."""
    clinical = (
        {"diagnosis_icd10": "F33.2", "episode_start": "2025-06"}
        if cohort == "TRD"
        else {"diagnosis_icd10": "F20.0", "psychosis_onset": "2025-09"}
    )
    form: dict[str, str | None] = {
        "nhs_number": new_nhs_number(),
        "given_name": "Ada",
        "family_name": f"Example{secrets.token_hex(3)}",
        "date_of_birth": "1990-04-12" if cohort == "TRD" else "2001-02-03",
        "postcode": "B15 2TT",
        "email": "ada@example.org",
        "phone": "0121 496 0000",
        "sex": "female",
        "gender_identity": "2",
        "ethnicity": "H",
        "imd_decile": "2",
        "imd_version": "IoD2019",
        "consent_form_version": f"{cohort}-PIS-2.0",
        "consent_signed_on": SIGNED_ON,
        **{f"consent_{item}": "yes" for item in CONSENT_ITEMS},
        "capacity": "confirmed",
        **clinical,
    }
    form.update(answers)
    return {name: value for name, value in form.items() if value is not None}


def enrol(client: FlaskClient, cohort: str = "TRD", **answers: str | None) -> Any:
    return post_form(client, f"/participants/enrol/{cohort}", enrolment_form(cohort, **answers))


def enrolled(client: FlaskClient, cohort: str = "TRD", **answers: str | None) -> str:
    """Enrol through the form; the new participant's id."""
    response = enrol(client, cohort, **answers)
    assert response.status_code == 302, page_of(response).summary
    location: str = response.headers["Location"]
    return location.rsplit("/", 1)[-1]


def counts(app: Flask) -> tuple[int, int]:
    """(participants, audit events of writes) in the database: the identity read behind a
    page's patient banner is kept on record even when its form is refused."""
    with app.app_context():
        db = session()
        return (
            db.scalar(select(func.count()).select_from(Participant)) or 0,
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action != "participant.read_identity")
            )
            or 0,
        )


@pytest.fixture
def clinician_account(create_account: Callable[..., Account]) -> Account:
    return create_account(Role.CLINICIAN)


@pytest.fixture
def clinician_web(
    client: FlaskClient, clinician_account: Account, sign_in: Callable[..., Any]
) -> FlaskClient:
    """``client``, signed in as ``clinician_account`` (of a new site)."""
    sign_in(clinician_account)
    return client


@pytest.fixture
def other_site(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    """A browser signed in as a clinician of another site."""
    browser = app.test_client()
    sign_in(create_account(Role.CLINICIAN), test_client=browser)
    return browser


# -- who may use the pages ------------------------------------------------------------------

PAGES = [
    "/participants/",
    "/participants/enrol/EP",
    "/participants/enrol/TRD",
    "/participants/P-0000000000AA",
    "/participants/P-0000000000AA/correct",
    "/participants/P-0000000000AA/assessments/new?instrument=PHQ9",
    "/participants/P-0000000000AA/treatment-trials/new",
]
FORMS = [
    "/participants/search",
    "/participants/enrol/TRD",
    "/participants/P-0000000000AA/correct",
    "/participants/P-0000000000AA/assessments/new?instrument=PHQ9",
    "/participants/P-0000000000AA/treatment-trials/new",
]


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PARTNER, Role.ADMIN])
def test_participant_pages_refuse_roles_other_than_clinician(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    sign_in(create_account(role))
    token = csrf_token_from(client.get("/").get_data(as_text=True))

    answers = {url: client.get(url).status_code for url in PAGES}
    answers |= {
        f"POST {url}": client.post(url, data={"csrf_token": token}).status_code for url in FORMS
    }

    assert set(answers.values()) == {403}, answers


def test_each_page_renders_for_a_clinician(client: FlaskClient, clinician_web: FlaskClient) -> None:
    trd = enrolled(client, "TRD")

    pages = [
        "/participants/",
        "/participants/enrol/EP",
        "/participants/enrol/TRD",
        f"/participants/{trd}",
        f"/participants/{trd}/correct",
        f"/participants/{trd}/assessments/new",
        f"/participants/{trd}/assessments/new?instrument=PHQ9",
        f"/participants/{trd}/treatment-trials/new",
    ]

    assert {url: client.get(url).status_code for url in pages} == dict.fromkeys(pages, 200)


def test_home_page_links_a_clinician_to_the_participant_pages(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    html = client.get("/").get_data(as_text=True)

    assert 'href="/participants/"' in html
    assert 'href="/participants/enrol/EP"' in html
    assert 'href="/participants/enrol/TRD"' in html


def test_another_sites_participant_is_not_found(
    client: FlaskClient, clinician_web: FlaskClient, other_site: FlaskClient
) -> None:
    trd = enrolled(client, "TRD")
    urls = [
        f"/participants/{trd}",
        f"/participants/{trd}/correct",
        f"/participants/{trd}/assessments/new?instrument=PHQ9",
        f"/participants/{trd}/treatment-trials/new",
    ]

    answers = {url: other_site.get(url).status_code for url in urls}

    assert answers == dict.fromkeys(urls, 404)
    assert "Page not found" in other_site.get(urls[0]).get_data(as_text=True)


def test_unknown_cohort_has_no_enrolment_page(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    assert client.get("/participants/enrol/XYZ").status_code == 404


# -- enrolment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cohort", "heading", "cohort_fields"),
    [
        ("EP", "Enrol in the early psychosis cohort (EP)", ["psychosis_onset", "dup_weeks"]),
        ("TRD", "Enrol in the treatment-resistant depression cohort (TRD)", ["episode_start"]),
    ],
)
def test_enrolment_form_asks_each_consent_item_and_the_cohorts_clinical_fields(
    client: FlaskClient,
    clinician_web: FlaskClient,
    cohort: str,
    heading: str,
    cohort_fields: list[str],
) -> None:
    page = page_of(client.get(f"/participants/enrol/{cohort}"))

    assert heading in page.text
    assert page.selected["consent_form_version"] == f"{cohort}-PIS-2.0"  # the one in force
    for item in CONSENT_ITEMS:
        assert page.inputs[f"consent_{item}"]["value"] == "yes"
        assert page.inputs[f"consent_{item}-2"]["value"] == "no"
        assert f"consent_{item}" not in page.checked  # none is assumed
    assert all(f"{name}-month" in page.inputs or name in page.inputs for name in cohort_fields)
    other = "episode_start" if cohort == "EP" else "psychosis_onset"
    assert f"{other}-month" not in page.inputs
    assert "Asian or Asian British - Indian" in page.text  # codes read as their descriptions
    assert "Female (including trans woman)" in page.text


def test_clinician_enrols_a_trd_participant_through_the_form(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient, clinician_account: Account
) -> None:
    answers = enrolment_form("TRD")

    response = post_form(client, "/participants/enrol/TRD", answers)
    shown = page_of(client.get(response.headers["Location"]))

    assert response.status_code == 302
    assert answers["nhs_number"] not in response.headers["Location"]
    assert shown.text_of("notice").endswith(
        "Enrolled in the treatment-resistant depression cohort."
    )
    number = answers["nhs_number"]
    assert f"{number[:3]} {number[3:6]} {number[6:]}" in shown.text
    assert f"Ada {answers['family_name']}" in shown.text
    assert "12 April 1990" in shown.text
    assert "June 2025" in shown.text
    assert "Asian or Asian British - Indian" in shown.text
    participant_id = response.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context():
        participant = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert participant is not None and participant.cohort == "TRD"
        assert participant.site_id == clinician_account.user.site_id
        facts = session().get(ParticipantFacts, participant.id)
        assert facts is not None and facts.consent_samples is True


def test_clinician_enrols_an_ep_participant_with_a_consultee(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(
        client,
        "EP",
        capacity="consultee",
        consultee_type="personal",
        consultee_name="Grace Example",
        first_antipsychotic_on="2025-11-10",
        consent_samples="no",
    )

    shown = page_of(client.get(f"/participants/{participant_id}"))

    assert shown.text_of("notice").endswith("Enrolled in the early psychosis cohort.")
    assert "September 2025" in shown.text
    assert "10 weeks" in shown.text  # untreated psychosis, worked out from the dates
    assert "Collect and store biological samples No" in shown.text_of("consent")
    with app.app_context():
        participant = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert participant is not None and participant.cohort == "EP"


def _bad_check_digit() -> str:
    number = new_nhs_number()
    return number[:9] + str((int(number[9]) + 1) % 10)


# (cohort, answers, field id, the message at that field)
RULES = [
    pytest.param(
        "TRD",
        {"nhs_number": _bad_check_digit()},
        "nhs_number",
        "This NHS number is not valid: check it has been typed correctly.",
        id="nhs-number-check-digit",
    ),
    pytest.param("TRD", {"nhs_number": ""}, "nhs_number", "Enter the NHS number.", id="nhs-blank"),
    pytest.param(
        "TRD", {"given_name": ""}, "given_name", "Enter their given name.", id="given-name-blank"
    ),
    pytest.param(
        "TRD",
        {"date_of_birth": TOMORROW},
        "date_of_birth",
        "Date of birth must be in the past",
        id="birth-in-future",
    ),
    pytest.param(
        "TRD",
        {"date_of_birth": "1990-02-31"},
        "date_of_birth",
        "Date of birth must be a real date",
        id="birth-not-a-date",
    ),
    pytest.param(
        "TRD",
        {"date_of_birth": "2015-01-01"},
        "date_of_birth",
        "The TRD cohort is for people aged 18 or over.",
        id="trd-too-young",
    ),
    pytest.param(
        "EP",
        {"date_of_birth": "1950-01-01"},
        "date_of_birth",
        "The EP cohort is for people aged 14 to 65.",
        id="ep-too-old",
    ),
    pytest.param(
        "TRD",
        {"postcode": "B15"},
        "postcode",
        "Enter a full UK postcode, like B15 2TT.",
        id="postcode",
    ),
    pytest.param(
        "TRD",
        {"email": "ada-at-example"},
        "email",
        "Enter an email address like name@example.com.",
        id="email",
    ),
    pytest.param(
        "TRD", {"phone": "12"}, "phone", "Enter a phone number of 10 to 15 digits.", id="phone"
    ),
    pytest.param("TRD", {"sex": None}, "sex", "Select their sex.", id="sex-unanswered"),
    pytest.param(
        "TRD",
        {"gender_identity": None},
        "gender_identity",
        "Select their gender identity.",
        id="gender-identity-unanswered",
    ),
    pytest.param(
        "TRD", {"ethnicity": ""}, "ethnicity", "Select their ethnicity.", id="ethnicity-blank"
    ),
    pytest.param(
        "TRD",
        {"imd_version": ""},
        "imd_version",
        "Say which index the decile comes from (IoD2019 or IoD2025).",
        id="imd-without-version",
    ),
    pytest.param(
        "TRD",
        {"consent_form_version": "TRD-PIS-9.9"},
        "consent_form_version",
        "There is no TRD consent form of this version.",
        id="unknown-form-version",
    ),
    pytest.param(
        "TRD",
        {"consent_signed_on": "2019-12-31"},
        "consent_signed_on",
        "Version TRD-PIS-2.0 was not in use until 1 January 2020.",
        id="signed-before-version-in-use",
    ),
    pytest.param(
        "TRD",
        {"consent_signed_on": TOMORROW},
        "consent_signed_on",
        "Date signed must be today or in the past",
        id="signed-in-future",
    ),
    pytest.param(
        "TRD",
        {"consent_samples": None},
        "consent_samples",
        "Answer whether they agree to their samples being stored",
        id="consent-item-unanswered",
    ),
    pytest.param(
        "TRD",
        {"consent_registry_storage": "no"},
        "consent_registry_storage",
        "Joining the registry needs this consent.",
        id="registry-storage-refused",
    ),
    pytest.param(
        "TRD",
        {"capacity": None},
        "capacity",
        "Say whether they have capacity to consent.",
        id="capacity-unanswered",
    ),
    pytest.param(
        "TRD",
        {"capacity": "consultee"},
        "consultee_type",
        "Give the consultee's type and name.",
        id="consultee-missing",
    ),
    pytest.param(
        "TRD",
        {"capacity": "consultee", "consultee_type": "personal"},
        "consultee_name",
        "Enter the consultee's name.",
        id="consultee-name-missing",
    ),
    pytest.param(
        "TRD",
        {"diagnosis_icd10": "F20.0"},
        "diagnosis_icd10",
        "This diagnosis is not one the TRD cohort takes.",
        id="diagnosis-other-cohort",
    ),
    pytest.param(
        "TRD",
        {"diagnosis_icd10": "depression"},
        "diagnosis_icd10",
        "Give an ICD-10 code, for example F33.2.",
        id="diagnosis-not-icd10",
    ),
    pytest.param(
        "TRD",
        {"episode_start": None},
        "episode_start",
        "Enter the month the current episode began.",
        id="episode-start-missing",
    ),
    pytest.param(
        "TRD",
        {"episode_start": "2025-13"},
        "episode_start",
        "Month the current episode began must be a real date",
        id="episode-start-not-a-month",
    ),
    pytest.param(
        "TRD",
        {"episode_start": "1985-01"},
        "episode_start",
        "This month is before the date of birth.",
        id="episode-before-birth",
    ),
    pytest.param(
        "EP",
        {"psychosis_onset": ""},
        "psychosis_onset",
        "Enter the month psychosis began.",
        id="onset-missing",
    ),
    pytest.param(
        "EP",
        {"first_antipsychotic_on": "2025-08-01"},
        "first_antipsychotic_on",
        "This is before the psychosis onset.",
        id="treated-before-onset",
    ),
    pytest.param(
        "EP",
        {"dup_weeks": "lots"},
        "dup_weeks",
        "Give a number of weeks from 0 to 1040.",
        id="dup-not-a-number",
    ),
    pytest.param(
        "EP",
        {"dup_weeks": "-1"},
        "dup_weeks",
        "Give a number of weeks from 0 to 1040.",
        id="dup-negative",
    ),
]


@pytest.mark.parametrize(("cohort", "answers", "field_id", "message"), RULES)
def test_enrolment_rule_shows_at_its_field_and_writes_nothing(
    app: Flask,
    client: FlaskClient,
    clinician_web: FlaskClient,
    cohort: str,
    answers: dict[str, str | None],
    field_id: str,
    message: str,
) -> None:
    before = counts(app)

    response = enrol(client, cohort, **answers)

    page = page_of(response)
    assert response.status_code == 422
    assert "There is a problem" in page.text
    assert (summary_link(field_id), message) in page.summary
    assert page.error_at(field_id) == message
    assert (page.value("given_name") or "") == answers.get("given_name", "Ada")  # input kept
    assert counts(app) == before


def test_enrolment_error_keeps_every_answer_given(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    answers = enrolment_form("EP", consent_samples="no", dup_weeks="lots")

    page = page_of(post_form(client, "/participants/enrol/EP", answers))

    assert page.summary == [("#dup_weeks", "Give a number of weeks from 0 to 1040.")]
    for name in ("nhs_number", "family_name", "postcode"):
        assert page.value(name) == answers[name], name
    assert [page.value(f"date_of_birth-{part}") for part in ("day", "month", "year")] == [
        "3",
        "2",
        "2001",
    ]
    assert [page.value(f"psychosis_onset-{part}") for part in ("month", "year")] == ["9", "2025"]
    assert page.checked["sex"] == "female"
    assert page.checked["consent_samples"] == "no"
    assert page.checked["consent_registry_storage"] == "yes"
    assert page.checked["capacity"] == "confirmed"
    assert page.selected["ethnicity"] == "H"
    assert page.selected["imd_decile"] == "2"
    assert page.selected["consent_form_version"] == "EP-PIS-2.0"


def test_empty_enrolment_lists_each_missing_answer_in_page_order(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    before = counts(app)
    token = csrf_token_from(client.get("/participants/enrol/TRD").get_data(as_text=True))

    response = client.post("/participants/enrol/TRD", data={"csrf_token": token})

    links = [href for href, _ in page_of(response).summary]
    assert response.status_code == 422
    assert links[:2] == ["#nhs_number", "#given_name"]
    assert [f"#consent_{item}" for item in CONSENT_ITEMS] == [
        link for link in links if link.startswith("#consent_") and link[9:] in CONSENT_ITEMS
    ]
    assert links.index("#sex") < links.index("#consent_registry_storage")
    assert links.index("#capacity") < links.index("#diagnosis_icd10")
    assert counts(app) == before


def test_duplicate_nhs_number_says_only_that_they_are_enrolled(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient, other_site: FlaskClient
) -> None:
    number = new_nhs_number()
    enrolled(other_site, "TRD", nhs_number=number, family_name="Elsewhere")
    before = counts(app)

    response = enrol(client, "TRD", nhs_number=number)

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [("#nhs_number", "This person is already enrolled.")]
    assert page.error_at("nhs_number") == "This person is already enrolled."
    assert "Elsewhere" not in page.text and "P-" not in page.text
    participants, events = counts(app)
    assert participants == before[0]
    assert events == before[1] + 1  # the refusal: repeated tries could be probing
    assert last_audit_action(app) == "refused.duplicate_participant"


def last_audit_action(app: Flask) -> str | None:
    with app.app_context():
        return session().scalar(select(AuditEvent.action).order_by(AuditEvent.seq.desc()))


# -- finding --------------------------------------------------------------------------------


def test_search_by_nhs_number_goes_to_the_participant(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    number = new_nhs_number()
    participant_id = enrolled(client, "TRD", nhs_number=number)

    found = search(client, f"{number[:3]} {number[3:6]} {number[6:]}")

    assert found.status_code == 302
    assert found.headers["Location"] == f"/participants/{participant_id}"
    assert number not in found.headers["Location"]


def search(client: FlaskClient, nhs_number: str) -> Any:
    """Submit the search form that the list page carries."""
    token = csrf_token_from(client.get("/participants/").get_data(as_text=True))
    return client.post("/participants/search", data={"nhs_number": nhs_number, "csrf_token": token})


def test_search_for_someone_not_enrolled_says_so(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    response = search(client, new_nhs_number())

    page = page_of(response)
    assert page.error_at("nhs_number") == "No participant with this NHS number at your site."
    assert ("#nhs_number", "No participant with this NHS number at your site.") in page.summary
    assert last_audit_action(app) == "refused.participant_not_found"  # a miss tells something too


def test_search_does_not_find_another_sites_participant(
    client: FlaskClient, clinician_web: FlaskClient, other_site: FlaskClient
) -> None:
    number = new_nhs_number()
    enrolled(other_site, "TRD", nhs_number=number)

    response = search(client, number)

    assert response.status_code != 302
    assert page_of(response).error_at("nhs_number") == (
        "No participant with this NHS number at your site."
    )


def test_search_with_a_mistyped_number_says_what_is_wrong(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    response = search(client, "12345")

    assert page_of(response).error_at("nhs_number") == "An NHS number has 10 digits."


def test_list_shows_own_sites_participants_only(
    client: FlaskClient, clinician_web: FlaskClient, other_site: FlaskClient
) -> None:
    mine = enrolled(client, "TRD", family_name="Mine")
    enrolled(client, "EP", family_name="AlsoMine")
    enrolled(other_site, "TRD", family_name="NotMine")

    everyone = page_of(client.get("/participants/"))
    trd_only = page_of(client.get("/participants/?cohort=TRD"))

    assert "Mine, Ada" in everyone.text and "AlsoMine, Ada" in everyone.text
    assert "NotMine" not in everyone.text
    assert "2 participants" in everyone.text
    assert f'href="/participants/{mine}"' in client.get("/participants/").get_data(as_text=True)
    assert "Mine, Ada" in trd_only.text and "AlsoMine" not in trd_only.text


def test_list_pages_by_25(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient, clinician_account: Account
) -> None:
    with app.test_request_context():
        user = session().get(User, clinician_account.user.id)
        assert user is not None
        for n in range(26):
            body = enrolment_body("TRD", family_name=f"Paged{n:02d}")
            enrol_participant(load_enrolment(body), by=Actor.for_user(user), own_site=user.site)
        session().commit()

    first = page_of(client.get("/participants/"))
    second = page_of(client.get("/participants/?page=2"))

    assert "26 participants" in first.text
    assert first.text.count("Paged") == 25
    assert second.text.count("Paged") == 1
    assert "Page 2 of 2" in first.text


# -- correcting -----------------------------------------------------------------------------


def test_correction_changes_only_what_was_changed(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/correct"
    shown = page_of(client.get(url))
    answers = {name: shown.value(name) or "" for name in ("given_name", "family_name", "email")}
    answers |= {"postcode": "M1 1AE", "phone": "", "sex": "female", "gender_identity": "2"}
    answers |= {"ethnicity": "N", "imd_decile": "2", "imd_version": "IoD2019"}

    response = post_form(client, url, answers)
    after = page_of(client.get(response.headers["Location"]))

    assert response.status_code == 302
    assert "Their record has been corrected." in after.text
    assert "M1 1AE" in after.text
    assert "Black or Black British - African" in after.text
    assert "0121 496 0000" not in after.text  # the phone number was removed
    with app.app_context():
        events = session().scalars(
            select(AuditEvent)
            .where(AuditEvent.participant_id == participant_id)
            .where(
                AuditEvent.action.in_(
                    ["participant.update_identity", "participant.correct_demographics"]
                )
            )
            .order_by(AuditEvent.seq)
        )
        corrected = {event.action: json.loads(event.details)["fields"] for event in events}
    assert corrected == {
        "participant.update_identity": ["phone", "postcode"],
        "participant.correct_demographics": ["ethnicity"],
    }


def test_correction_error_shows_at_the_field_and_changes_nothing(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/correct"
    shown = page_of(client.get(url))
    answers = {name: shown.value(name) or "" for name in ("given_name", "family_name", "phone")}
    answers |= {"postcode": "not a postcode", "email": "ada@example.org", "sex": "male"}
    answers |= {"gender_identity": "2", "ethnicity": "H", "imd_decile": "2"}
    answers |= {"imd_version": "IoD2019"}
    before = counts(app)

    response = post_form(client, url, answers)

    page = page_of(response)
    assert response.status_code == 422
    assert ("#postcode", "Enter a full UK postcode, like B15 2TT.") in page.summary
    assert page.value("postcode") == "not a postcode"
    assert page.checked["sex"] == "male"
    assert counts(app)[0] == before[0]
    assert "Female" in page_of(client.get(f"/participants/{participant_id}")).text


def test_correction_with_nothing_changed_says_so(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/correct"
    shown = page_of(client.get(url))
    answers = {name: value or "" for name, value in _form_values(shown).items()}

    response = post_form(client, url, answers)

    assert response.status_code == 422
    assert ("#maincontent", "Give at least one field to correct.") in page_of(response).summary


def _form_values(page: Page) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        name: page.value(name) for name in ("given_name", "family_name", "postcode")
    }
    values |= {name: page.value(name) for name in ("email", "phone")}
    values |= {name: page.checked.get(name) for name in ("sex", "gender_identity")}
    values |= {name: page.selected.get(name) for name in ("ethnicity", "imd_decile", "imd_version")}
    return values


# -- assessments and treatment trials -------------------------------------------------------


def test_phq9_entered_item_by_item_shows_total_and_band(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    chooser = client.get(f"/participants/{participant_id}/assessments/new").get_data(as_text=True)
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    form = page_of(client.get(url))
    answers = {f"item_{n}": score for n, score in enumerate(PHQ9_SCORING_17, 1)}

    response = post_form(client, url, {"administered_on": LAST_WEEK, **answers})
    shown = page_of(client.get(response.headers["Location"]))

    assert f'href="{url}"' in chooser
    assert "1. Little interest or pleasure" in form.text
    assert [form.inputs[f"item_1{suffix}"]["value"] for suffix in ("", "-2", "-3", "-4")] == [
        "0",
        "1",
        "2",
        "3",
    ]
    assert response.status_code == 302
    assert shown.text_of("notice").endswith("PHQ-9 total 17, moderately severe")
    assert "PHQ-9 17 moderately severe" in shown.text_of("scores")


def test_phq9_with_an_item_unanswered_says_which_and_writes_nothing(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    answers = {f"item_{n}": score for n, score in enumerate(PHQ9_SCORING_17, 1) if n != 3}
    before = counts(app)

    response = post_form(client, url, {"administered_on": TOMORROW, **answers})

    page = page_of(response)
    assert response.status_code == 422
    assert (
        "#administered_on-day",
        "Date it was done must be today or in the past",
    ) in page.summary
    assert ("#item_3", "Select a score for item 3 (Sleep).") in page.summary
    assert page.checked["item_1"] == "3"  # the scores given are kept
    assert counts(app) == before


def test_out_of_range_score_is_refused_at_its_item(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    answers = {f"item_{n}": score for n, score in enumerate(PHQ9_SCORING_17, 1)}

    response = post_form(client, url, {"administered_on": LAST_WEEK, **answers, "item_5": "4"})

    assert page_of(response).error_at("item_5") == (
        "Item 5 (Appetite) must be a whole number from 0 to 3."
    )


def test_unknown_rating_scale_is_not_found(client: FlaskClient, clinician_web: FlaskClient) -> None:
    participant_id = enrolled(client, "TRD")

    url = f"/participants/{participant_id}/assessments/new?instrument=NOPE"

    assert client.get(url).status_code == 404


def test_treatment_trials_update_failed_adequate_trials(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/treatment-trials/new"
    trial = {"drug": "Sertraline", "started_on": "2025-07", "adequate_dose": "yes", "weeks": "8"}

    failed = post_form(client, url, {**trial, "outcome": "non_response"})
    after_failed = page_of(client.get(failed.headers["Location"]))
    post_form(client, url, {**trial, "drug": "Mirtazapine", "outcome": "response"})
    after_response = page_of(client.get(f"/participants/{participant_id}"))

    assert failed.status_code == 302
    assert "Treatment trial of sertraline recorded." in after_failed.text
    assert after_failed.text_of("failed-trials").startswith("Failed adequate trials: 1 ,")
    assert "eu-pearl-2022" in after_failed.text_of("failed-trials")
    assert after_response.text_of("failed-trials").startswith("Failed adequate trials: 1 ,")
    assert "mirtazapine" in after_response.text


def test_treatment_trial_errors_show_at_their_fields(
    app: Flask, client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/treatment-trials/new"
    before = counts(app)

    response = post_form(
        client, url, {"drug": "sertraline", "started_on-month": "July", "started_on-year": "2025"}
    )

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [
        ("#started_on-month", "Month started must be a real date"),
        ("#adequate_dose", "Say whether the dose was adequate."),
        ("#weeks", "Enter how many weeks it was taken."),
        ("#outcome", "Select the outcome."),
    ]
    assert page.selected["drug"] == "sertraline"  # the pick-list keeps the choice
    assert counts(app) == before


def test_the_trial_page_offers_the_coded_drugs_by_class_and_kinds_in_words(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/treatment-trials/new"

    html = client.get(url).get_data(as_text=True)
    posted = post_form(
        client,
        url,
        {
            "modality": "augmentation",
            "drug": "lithium",
            "dose": "800",
            "dose_unit": "mg",
            "started_on": "2025-07",
            "adequate_dose": "yes",
            "weeks": "8",
            "adherence": "poor",
            "outcome": "non_response",
        },
    )
    shown = page_of(client.get(f"/participants/{participant_id}"))

    assert '<optgroup label="Selective serotonin re-uptake inhibitors (BNF 4.3.3)">' in html
    assert '<option value="sertraline">Sertraline</option>' in html
    assert "Augmentation (a non-antidepressant added, e.g. lithium)" in html
    assert posted.status_code == 302
    row = shown.text_of("trials")
    assert "Augmentation (a non-antidepressant added, e.g. lithium) lithium, 800 mg" in row
    assert "Poor" in row and "augmentation" not in row.replace("Augmentation", "")
    # Poor adherence: no failure, and not staged without one.
    assert shown.text_of("failed-trials").startswith("Failed adequate trials: 0 ,")
    assert "eu-pearl-2022@2" in shown.text_of("failed-trials")
    assert shown.text_of("maudsley").startswith("Maudsley Staging Method: not staged.")


def test_an_unknown_drug_on_the_page_is_refused_with_a_suggestion(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "TRD")
    url = f"/participants/{participant_id}/treatment-trials/new"
    trial = {"started_on": "2025-07", "adequate_dose": "yes", "weeks": "8"}

    response = post_form(client, url, {**trial, "drug": "sertaline", "outcome": "response"})

    assert response.status_code == 422
    assert page_of(response).error_at("drug") == (
        "This drug is not on the registry's list. Did you mean sertraline?"
    )


def test_treatment_trials_are_for_trd_participants_only(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(client, "EP")

    shown = client.get(f"/participants/{participant_id}").get_data(as_text=True)

    assert client.get(f"/participants/{participant_id}/treatment-trials/new").status_code == 404
    assert "treatment-trials/new" not in shown


def test_list_refuses_a_bad_page_and_a_bad_cohort_together(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    response = client.get("/participants/?page=0&cohort=XX")

    assert response.status_code == 422
    text = page_of(response).text
    assert "100000" in text  # the page number's bounds
    assert "Must be one of: EP, TRD." in text


def test_a_page_past_the_end_shows_the_last_page(
    client: FlaskClient, clinician_web: FlaskClient
) -> None:
    enrolled(client, "TRD", family_name="Onlyone")

    response = client.get("/participants/?page=9999")

    shown = page_of(response)
    assert response.status_code == 200
    assert "Onlyone, Ada" in shown.text
    assert "No participants yet" not in shown.text
