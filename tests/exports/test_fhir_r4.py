"""The registry's Bundles against FHIR R4 (4.0.1) itself, through ``scripts/validate-fhir``.

The validator runs fhir.resources 6.4.0 in its own environment (.venv-fhir-r4, pydantic 1),
which ``scripts/test`` builds before pytest starts. Where it has not been built these tests
skip, saying so; in CI (CI=true) they fail instead, so R4 validation cannot quietly lapse.
What the validation does and does not prove is in scripts/validate_fhir_r4.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from registry.assessments.instruments import INSTRUMENT_CODES, instrument
from registry.exports.questionnaires import questionnaire, questionnaire_id
from tests.exports.conftest import PHQ9_ITEMS, World

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "validate-fhir"
VENV = Path(os.environ.get("FHIR_R4_VENV", ROOT / ".venv-fhir-r4"))
W1, W2 = "no_further_contact", "no_further_data"


@pytest.fixture
def validator() -> Path:
    if not (VENV / ".installed").is_file():
        message = f"the FHIR R4 validator is not built ({VENV}): run scripts/validate-fhir --setup"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SCRIPT


def _validate(script: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, on files this test wrote
        [str(script), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _write(path: Path, response: Any) -> Path:
    assert response.status_code == 200
    path.write_text(response.get_data(as_text=True), encoding="utf-8")
    return path


def test_every_branch_of_the_bundle_validates_against_r4(
    world: World, validator: Path, tmp_path: Path
) -> None:
    # Arrange: item scores (PHQ-9, and QIDS-SR16 for a Questionnaire id made from a code
    # with "_"), totals with and without a LOINC code, W1 and W2 withdrawals (off-study
    # with an end date), and the UK Core ethnic category including "Z" and "99".
    qids = [item.min for item in instrument("QIDS_SR16").items]
    people = [world.enrol(ethnicity=code) for code in ("H", "Z", "99")]
    for person in people:
        assert world.assess(person, items=PHQ9_ITEMS).status_code == 201
        assert world.assess(person, instrument="GAD7", total=8).status_code == 201
        assert world.assess(person, instrument="MADRS", total=20).status_code == 201
        assert world.assess(person, instrument="QIDS_SR16", items=qids).status_code == 201
    world.withdraw(people[1], W1)
    world.withdraw(people[2], W2)
    files = [
        _write(tmp_path / "months.json", world.fhir(world.grant())),
        _write(
            tmp_path / "shifted.json",
            world.fhir(world.grant(date_policy="shift", max_shift_days=60)),
        ),
    ]
    kinds = {
        entry["resource"]["resourceType"] for entry in json.loads(files[0].read_text())["entry"]
    }
    assert kinds == {
        "ResearchStudy",
        "Patient",
        "ResearchSubject",
        "Consent",
        "Observation",
        "QuestionnaireResponse",
        "Questionnaire",
    }

    result = _validate(validator, *files)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "FHIR 4.0.1" in result.stdout


def test_the_r4_validator_names_the_resource_and_the_error(validator: Path, tmp_path: Path) -> None:
    # "_" is not allowed in an R4 id, and ResearchSubject needs its study and individual.
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:0b7c4a4e-3d0a-4b1e-9a59-3f0d5d7f1a01",
                        "resource": {
                            "resourceType": "ResearchSubject",
                            "id": "QIDS_SR16",
                            "status": "off-study",
                        },
                    }
                ],
            }
        ),
        encoding="utf-8",
    )

    result = _validate(validator, bad)

    assert result.returncode == 1
    assert "entry 0 (ResearchSubject/QIDS_SR16)" in result.stderr
    assert "study" in result.stderr and "individual" in result.stderr


def test_every_scales_questionnaire_validates_against_r4(validator: Path, tmp_path: Path) -> None:
    # Every scale the registry scores, including those with no storable items (PSP) and
    # those whose result is a risk level rather than a sum (C-SSRS screener).
    base = "https://registry.example/api/v1/fhir/Questionnaire/"
    entries = [
        {
            "fullUrl": base + questionnaire_id(code),
            "resource": questionnaire(instrument(code), base + questionnaire_id(code)),
        }
        for code in INSTRUMENT_CODES
    ]
    bundle = tmp_path / "questionnaires.json"
    bundle.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )

    result = _validate(validator, bundle)

    assert result.returncode == 0, result.stderr[-3000:]
    # FHIR JSON has no empty arrays; the pydantic models do not check that, so this does.
    assert "[]" not in bundle.read_text()
