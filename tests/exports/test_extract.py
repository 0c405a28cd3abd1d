"""Extracts through the API: what they hold, whom they hold, and what they never hold."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.models import AuditEvent
from registry.db import session, utcnow
from registry.exports.extract import write_extract
from registry.exports.models import DataExport
from registry.exports.queries import grant_by_id
from registry.participants.identity import pseudonym_for
from tests.conftest import enrolment_body, new_nhs_number
from tests.exports.conftest import PHQ9_ITEMS, TODAY, Extract, World, random_name

W1, W2, W3 = "no_further_contact", "no_further_data", "full"
FORMATS = ["csv", pytest.param("parquet", marks=pytest.mark.slow)]


def _pseudonyms(extract: Extract, table: str = "participants.csv") -> list[str]:
    return [row["pseudonym"] for row in extract.rows(table)]


def _pseudonym(world: World, grant_id: str, participant_id: str) -> str:
    with world.context():
        return pseudonym_for(world.study_key(grant_id), world.participant(participant_id))


# -- no identifier, ever ------------------------------------------------------------------------

PEOPLE = [
    ("TRD", "1985-07-23", "B15 2TT"),
    ("TRD", "1990-04-12", "B29 6BD"),
    ("EP", "2001-02-03", "B12 9RJ"),
    ("EP", "1998-11-05", "B1 1BB"),
]


def _enrol_known_people(world: World) -> list[dict[str, str]]:
    people = []
    for number, (cohort, born, postcode) in enumerate(PEOPLE):
        given, family = random_name(), random_name(12)
        identity = {
            "nhs_number": new_nhs_number(),
            "given_name": given,
            "family_name": family,
            "date_of_birth": born,
            "postcode": postcode,
            "email": f"{given.lower()}.{family.lower()}@example.org",
            "phone": f"0121 496 0{number:03d}",
        }
        participant_id = world.enrol(cohort, **identity)
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
        if cohort == "TRD":
            assert world.trial(participant_id).status_code == 201
        people.append({**identity, "participant_id": participant_id})
    world.withdraw(people[1]["participant_id"], W1)
    return people


def _forms_of(person: dict[str, str]) -> list[str]:
    """Every way an identifier of the person could be written in a file."""
    nhs, born = person["nhs_number"], dt.date.fromisoformat(person["date_of_birth"])
    postcode = person["postcode"]
    phone = person["phone"]
    return [
        person["participant_id"],
        nhs,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        person["given_name"].lower(),
        person["family_name"].lower(),
        person["email"].lower(),
        phone,
        phone.replace(" ", ""),
        postcode.lower(),
        postcode.replace(" ", "").lower(),
        born.isoformat(),
        f"{born:%d/%m/%Y}",
        f"{born:%Y%m%d}",
    ]


def _parquet_text(data: bytes) -> str:
    import pyarrow.parquet as pq

    return json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str)


@pytest.mark.parametrize("file_format", FORMATS)
def test_extract_holds_no_identifier_of_any_enrolled_participant(
    world: World, file_format: str
) -> None:
    people = _enrol_known_people(world)
    grant_id = world.grant()

    extract = world.extract(grant_id, file_format)

    texts = {name: data.decode("latin-1").lower() for name, data in extract.files.items()}
    if file_format == "parquet":  # compressed columns: scan the values as well as the bytes
        texts.update(
            {
                f"{name} (values)": _parquet_text(data).lower()
                for name, data in extract.files.items()
                if name.endswith(".parquet")
            }
        )
    found = [
        (name, form)
        for person in people
        for form in _forms_of(person)
        for name, text in texts.items()
        if form.lower() in text
    ]
    assert found == []
    assert extract.manifest["participants"] == len(PEOPLE)
    assert set(extract.files) >= {
        f"participants.{file_format}",
        f"assessments.{file_format}",
        f"treatment_trials.{file_format}",
        f"consent.{file_format}",
        "data_dictionary.csv",
        "manifest.json",
    }


# -- pseudonyms -------------------------------------------------------------------------------


def test_pseudonyms_are_stable_within_a_grant_and_differ_across_grants(world: World) -> None:
    ids = [world.enrol() for _ in range(3)]
    first, second = world.grant(), world.grant(title="Another study")

    once, again = world.extract(first), world.extract(first)
    other = world.extract(second)

    assert sorted(_pseudonyms(once)) == sorted(_pseudonyms(again))
    assert set(_pseudonyms(once)).isdisjoint(_pseudonyms(other))
    assert set(_pseudonyms(once)) == {_pseudonym(world, first, pid) for pid in ids}
    assert set(_pseudonyms(other)) == {_pseudonym(world, second, pid) for pid in ids}


def test_rows_are_in_pseudonym_order_not_registry_order(world: World) -> None:
    for _ in range(6):
        world.enrol()

    pseudonyms = _pseudonyms(world.extract(world.grant()))

    assert pseudonyms == sorted(pseudonyms)


def test_renewal_keeps_the_study_pseudonyms(world: World) -> None:
    participant_id = world.enrol()
    first = world.grant()

    renewal = world.grant(renews=first)

    assert _pseudonyms(world.extract(renewal)) == [_pseudonym(world, first, participant_id)]


# -- who is in an extract ------------------------------------------------------------------------


def test_only_participants_whose_consent_covers_the_grant_are_exported(world: World) -> None:
    agreed = world.enrol()
    refused = world.enrol_without("future_research")
    requiring = world.grant(consent_items=["future_research"])
    not_requiring = world.grant(consent_items=[])

    with_consent = world.extract(requiring)
    without = world.extract(not_requiring)

    assert _pseudonyms(with_consent) == [_pseudonym(world, requiring, agreed)]
    assert set(_pseudonyms(without)) == {
        _pseudonym(world, not_requiring, agreed),
        _pseudonym(world, not_requiring, refused),
    }


def test_revoking_a_required_item_takes_the_participant_out_of_later_extracts(
    world: World,
) -> None:
    participant_id = world.enrol()
    grant_id = world.grant(consent_items=["future_research"])
    assert len(_pseudonyms(world.extract(grant_id))) == 1
    change = {
        "form_version": "TRD-PIS-2.0",
        "signed_on": TODAY.isoformat(),
        "items": {"future_research": False},
    }
    response = world.client.post(
        f"/api/v1/participants/{participant_id}/consents",
        json=change,
        headers=world.clinician.headers,
    )
    assert response.status_code == 201, response.get_json()

    assert _pseudonyms(world.extract(grant_id)) == []


def test_only_the_grant_cohorts_are_exported(world: World) -> None:
    world.enrol("TRD")
    ep = world.enrol("EP")
    grant_id = world.grant(cohorts=["EP"])

    extract = world.extract(grant_id)

    assert _pseudonyms(extract) == [_pseudonym(world, grant_id, ep)]
    assert {row["cohort"] for row in extract.rows("participants.csv")} == {"EP"}


def test_full_withdrawal_is_never_exported(world: World) -> None:
    kept, gone = world.enrol(), world.enrol()
    grant_id = world.grant()
    with world.context():
        gone_pseudonym = pseudonym_for(world.study_key(grant_id), world.participant(gone))
    world.withdraw(gone, W3)

    extract = world.extract(grant_id)

    assert _pseudonyms(extract) == [_pseudonym(world, grant_id, kept)]
    assert not any(gone_pseudonym.encode() in data for data in extract.files.values())


def test_no_further_contact_keeps_the_data_in_extracts(world: World) -> None:
    participant_id = world.enrol()
    assert world.assess(participant_id, total=12).status_code == 201
    world.withdraw(participant_id, W1)

    extract = world.extract(world.grant())

    assert [row["withdrawal_level"] for row in extract.rows("participants.csv")] == [W1]
    assert len(extract.rows("assessments.csv")) == 1


def test_no_further_data_cuts_off_what_was_recorded_after_the_withdrawal(world: World) -> None:
    participant_id = world.enrol()
    assert world.assess(participant_id, total=12).status_code == 201
    assert world.trial(participant_id).status_code == 201
    world.withdraw(participant_id, W2)
    with world.context():
        # The actions refuse new data after W2; a row that got in anyway (a late import, a
        # clock skew) must still stay out of every extract.
        participant = world.participant(participant_id)
        assert participant.withdrawn_at is not None
        late = participant.withdrawn_at + dt.timedelta(seconds=1)
        session().add_all(
            [
                Assessment(
                    participant_pk=participant.id,
                    instrument="PHQ9",
                    scale_version="2026-11",
                    administered_on=TODAY,
                    items=None,
                    total=25,
                    band="severe",
                    recorded_at=late,
                ),
                TreatmentTrial(
                    participant_pk=participant.id,
                    drug="mirtazapine",
                    started_on=TODAY.replace(day=1),
                    adequate_dose=True,
                    weeks=6,
                    outcome="response",
                    recorded_at=late,
                ),
            ]
        )
        session().commit()

    extract = world.extract(world.grant())

    assert [row["total"] for row in extract.rows("assessments.csv")] == ["12"]
    assert [row["drug"] for row in extract.rows("treatment_trials.csv")] == ["sertraline"]
    assert [row["withdrawal_level"] for row in extract.rows("participants.csv")] == [W2]


# -- what is in an extract -------------------------------------------------------------------


def test_only_approved_variables_are_written(world: World) -> None:
    participant_id = world.enrol()
    assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
    assert world.trial(participant_id).status_code == 201
    grant_id = world.grant(variables=["participants.cohort", "assessments.total"])

    extract = world.extract(grant_id)

    assert set(extract.files) == {
        "participants.csv",
        "assessments.csv",
        "data_dictionary.csv",
        "manifest.json",
    }
    assert list(extract.rows("participants.csv")[0]) == ["pseudonym", "cohort"]
    assert list(extract.rows("assessments.csv")[0]) == ["pseudonym", "total"]
    assert {(row["file"], row["column"]) for row in extract.rows("data_dictionary.csv")} == {
        ("participants.csv", "pseudonym"),
        ("participants.csv", "cohort"),
        ("assessments.csv", "pseudonym"),
        ("assessments.csv", "total"),
    }


def test_month_policy_writes_dates_as_year_and_month(world: World) -> None:
    participant_id = world.enrol(date_of_birth="1990-04-12")
    assert world.assess(participant_id, administered_on="2026-11-20", total=9).status_code == 201

    extract = world.extract(world.grant())

    person = extract.rows("participants.csv")[0]
    assert person["birth_month"] == "1990-04"
    assert person["episode_start"] == "2025-06"
    assert person["age_band_at_enrolment"] == "35-44"
    assert extract.rows("assessments.csv")[0]["administered_on"] == "2026-11"
    assert extract.rows("consent.csv")[0]["signed_on"] == "2026-11"


def _shifted_dates(extract: Extract) -> dict[str, list[dt.date]]:
    dates: dict[str, list[dt.date]] = {}
    for row in extract.rows("assessments.csv"):
        dates.setdefault(row["pseudonym"], []).append(dt.date.fromisoformat(row["administered_on"]))
    return dates


def test_shift_policy_moves_each_participants_dates_by_one_secret_offset(world: World) -> None:
    days = [dt.date(2026, 1, 5), dt.date(2026, 3, 17), dt.date(2026, 11, 2)]
    for _ in range(4):
        participant_id = world.enrol()
        for day in days:
            response = world.assess(participant_id, administered_on=day.isoformat(), total=9)
            assert response.status_code == 201
    body = {"date_policy": "shift", "max_shift_days": 30}
    first, second = world.grant(**body), world.grant(**body)

    in_first = _shifted_dates(world.extract(first))
    in_first_again = _shifted_dates(world.extract(first))
    in_second = _shifted_dates(world.extract(second))

    offsets = set()
    for shifted in in_first.values():
        offset = shifted[0] - days[0]
        assert [day - offset for day in shifted] == days  # intervals kept
        assert dt.timedelta(days=1) <= abs(offset) <= dt.timedelta(days=30)
        offsets.add(offset)
    assert in_first == in_first_again
    assert len(offsets) > 1  # per participant, not one offset for everyone
    assert sorted(map(sorted, in_first.values())) != sorted(map(sorted, in_second.values()))


def test_manifest_counts_and_sha256_match_the_files(world: World) -> None:
    for _ in range(3):
        participant_id = world.enrol()
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
    grant_id = world.grant()

    extract = world.extract(grant_id)

    manifest = extract.manifest
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) | {"manifest.json"} == set(extract.files)
    for name, entry in listed.items():
        data = extract.files[name]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert entry["rows"] == data.decode("utf-8").count("\n") - 1
    assert listed["participants.csv"]["rows"] == manifest["participants"] == 3
    assert listed["assessments.csv"]["rows"] == 3
    assert manifest["grant_id"] == grant_id
    assert manifest["variables"] == sorted(world.grant_body()["variables"])
    with world.context():
        record = session().scalar(
            select(DataExport).where(DataExport.export_id == manifest["export_id"])
        )
        assert record is not None
        assert record.manifest_sha256 == hashlib.sha256(extract.files["manifest.json"]).hexdigest()


@pytest.mark.slow
def test_parquet_extract_holds_the_same_rows_as_csv(world: World) -> None:
    import pyarrow.parquet as pq

    for _ in range(3):
        participant_id = world.enrol()
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
    grant_id = world.grant(date_policy="shift", max_shift_days=10)

    as_csv = world.extract(grant_id)
    as_parquet = world.extract(grant_id, "parquet")

    table = pq.read_table(io.BytesIO(as_parquet.files["assessments.parquet"]))
    rows = table.to_pylist()
    assert [(r["pseudonym"], r["administered_on"].isoformat(), r["items"]) for r in rows] == [
        (r["pseudonym"], r["administered_on"], json.loads(r["items"]))
        for r in as_csv.rows("assessments.csv")
    ]
    assert str(table.schema.field("administered_on").type) == "date32[day]"


def test_each_extract_is_audited_with_what_it_held_and_no_one_named(world: World) -> None:
    ids = [world.enrol() for _ in range(2)]
    grant_id = world.grant()

    extract = world.extract(grant_id)

    with world.context():
        event = session().scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "export.extract")
            .order_by(AuditEvent.seq.desc())
        )
        assert event is not None
        details: dict[str, Any] = json.loads(event.details or "{}")
    assert event.target_id == grant_id
    assert event.participant_id is None
    assert details["participants"] == 2
    assert details["rows"]["participants"] == 2
    assert details["variables"] == sorted(world.grant_body()["variables"])
    assert details["manifest_sha256"] == hashlib.sha256(extract.files["manifest.json"]).hexdigest()
    text = event.details or ""
    assert not any(pseudonym in text for pseudonym in _pseudonyms(extract))
    assert not any(participant_id in text for participant_id in ids)


# -- refusals ------------------------------------------------------------------------------------


def test_expired_grant_refuses_extracts_with_403(world: World) -> None:
    world.enrol()
    grant_id = world.grant()
    world.expire(grant_id)

    response = world.export(grant_id)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "grant_expired"


def test_revoked_grant_refuses_extracts_with_403(world: World) -> None:
    grant_id = world.grant()
    revoked = world.client.post(
        f"/api/v1/grants/{grant_id}/revocation", headers=world.admin.headers
    )
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"

    response = world.export(grant_id)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "grant_revoked"


def test_researcher_not_on_the_grant_gets_404(world: World) -> None:
    grant_id = world.grant()

    response = world.export(grant_id, by=world.outsider)

    assert response.status_code == 404


def test_expired_grant_is_still_404_to_a_researcher_not_on_it(world: World) -> None:
    grant_id = world.grant()
    world.expire(grant_id)

    assert world.export(grant_id, by=world.outsider).status_code == 404


def test_admins_cannot_export(world: World) -> None:
    grant_id = world.grant()

    assert world.export(grant_id, by=world.admin).status_code == 403


def test_parquet_without_pyarrow_is_a_422(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("registry.exports.actions.parquet_available", lambda: False)
    grant_id = world.grant()

    response = world.export(grant_id, "parquet")

    assert response.status_code == 422
    assert "pyarrow" in response.get_json()["error"]["fields"]["format"][0]


def test_export_of_an_empty_population_has_headers_only(world: World) -> None:
    grant_id = world.grant()

    extract = world.extract(grant_id)

    assert extract.rows("participants.csv") == []
    assert extract.files["participants.csv"].decode().startswith("pseudonym,cohort,")
    assert extract.manifest["participants"] == 0


def test_enrolment_identifiers_are_absent_even_from_the_data_dictionary(world: World) -> None:
    body = enrolment_body()
    world.enrol(**{k: body[k] for k in ("nhs_number", "family_name")})

    extract = world.extract(world.grant())

    dictionary = extract.files["data_dictionary.csv"].decode()
    assert body["family_name"] not in dictionary
    assert "nhs_number" not in dictionary
    assert utcnow().year >= 2026


def test_progress_counts_up_to_the_total_it_announced(world: World, tmp_path: Path) -> None:
    for _ in range(3):
        world.enrol()
    grant_id = world.grant()
    steps: list[int] = []
    totals: list[int] = []

    with world.context():
        write_extract(
            grant_by_id(grant_id),
            tmp_path,
            file_format="csv",
            export_id="test",
            generated_at=utcnow(),
            progress=steps.append,
            on_population=totals.append,
        )

    assert totals == [3 * 3]  # participants and consent, assessments, trials: three reads
    assert sum(steps) == totals[0]


# -- the treatment history (issue #19) --------------------------------------------------------

TRIAL_HISTORY = [
    "treatment_trials.drug",
    "treatment_trials.drug_code",
    "treatment_trials.modality",
    "treatment_trials.dose",
    "treatment_trials.started_on",
    "treatment_trials.ended_on",
    "treatment_trials.adherence",
    "treatment_trials.outcome",
    "treatment_trials.response_percent",
    "treatment_trials.stop_reason",
    "treatment_trials.not_recovered",
]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_the_treatment_history_is_exported(world: World, file_format: str) -> None:
    participant_id = world.enrol()
    world.trial(
        participant_id,
        drug="Efexor",
        dose=225,
        dose_unit="mg",
        ended_on="2025-10",
        adherence="adequate",
        response_percent=10,
        stop_reason="ineffective",
    )
    ect_body = {"modality": "ect", "started_on": "2025-11", "adequate_dose": True, "weeks": 4}
    ect_recorded = world.client.post(
        f"/api/v1/participants/{participant_id}/treatment-trials",
        json={**ect_body, "outcome": "response"},
        headers=world.clinician.headers,
    )
    assert ect_recorded.status_code == 201, ect_recorded.get_json()

    extract = world.extract(world.grant(variables=TRIAL_HISTORY), file_format)

    if file_format == "csv":
        drug, ect = extract.rows("treatment_trials.csv")
        assert (drug["drug"], drug["drug_code"], drug["bnf_section"]) == (
            "venlafaxine",
            "",
            "4.3.4",
        )
        assert (drug["modality"], drug["dose"], drug["dose_unit"]) == (
            "antidepressant",
            "225",
            "mg",
        )
        assert (drug["ended_on"], drug["adherence"], drug["response_percent"]) == (
            "2025-10",
            "adequate",
            "10",
        )
        assert (drug["stop_reason"], drug["not_recovered"]) == ("ineffective", "")
        assert (ect["modality"], ect["drug"]) == ("ect", "")
        assert "adequate_dose" not in drug  # not granted
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(extract.files["treatment_trials.parquet"]))
        first = table.to_pylist()[0]
        assert (first["drug"], first["dose"], first["bnf_section"]) == (
            "venlafaxine",
            225.0,
            "4.3.4",
        )
