"""Check FHIR Bundle files against the R4 (4.0.1) models of fhir.resources 6.4.0.

Run by ``scripts/validate-fhir`` in its own environment (pydantic 1), never in the app's.
Each entry's resource is parsed by the model of its resourceType, then the Bundle as a
whole; every failure is printed (file, entry, resource type and id, the model's error) and
the exit status is 1 if there was any.

What passing proves, as far as fhir.resources 6.4.0 checks (tried one by one):
- structure: every element is one R4 4.0.1 defines for that resource or data type (an
  unknown element is an error), nested in the right place;
- types: primitives match R4's formats (id, date and dateTime, code without stray
  whitespace, integer, boolean ...), and complex types have the right shape;
- cardinality: a 0..1 element is not a list, and a 1..1 or 1..* element is present
  (ResearchSubject.study and .individual, Observation.code, Questionnaire.item.linkId ...);
- choice elements: at most one of ``value[x]`` and the like.

What it does not prove:
- terminology: no binding is checked, not even required ones: ``ResearchSubject.status``
  ``bogus``, ``Patient.gender`` ``robot`` and ``Questionnaire.item.type`` ``bogus`` all pass;
  nor whether a LOINC or UK Core code exists or its display is right;
- meaning: that ``off-study`` rather than ``withdrawn`` is the right status is a choice the
  tests in tests/exports/test_fhir.py hold, not something a validator can see;
- profiles: UK Core (or any other profile or extension definition) is not checked, only
  that an extension is well formed as an Extension (not even that it has its url);
- invariants (FHIRPath constraints such as ext-1, que-*, per-1, bdl-*): not evaluated,
  beyond the one-of check on choice elements; references and canonical URLs are not
  resolved.
The HL7 Java validator checks those; it is not available here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import fhir.resources
from fhir.resources import get_fhir_model_class

FHIR_VERSION = "4.0.1"


def _parse(resource_type: str, data: dict[str, Any]) -> None:
    model: Any = get_fhir_model_class(resource_type)
    model.parse_obj(data)  # pydantic 1


def check(path: Path) -> list[str]:
    """Each problem with one Bundle file, as a line; none if it validates."""
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"{path}: not readable as JSON ({error})"]
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return [f"{path}: not a Bundle"]
    problems = []
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            problems.append(f"{path}: entry {index}: no resource")
            continue
        kind = str(resource.get("resourceType"))
        where = f"{path}: entry {index} ({kind}/{resource.get('id', '-')})"
        try:
            _parse(kind, resource)
        except (ValueError, TypeError, KeyError) as error:  # pydantic 1's errors are ValueErrors
            problems.append(f"{where}:\n{error}")
    try:
        _parse("Bundle", bundle)
    except (ValueError, TypeError, KeyError) as error:
        problems.append(f"{path}: the Bundle:\n{error}")
    return problems


def main(arguments: list[str]) -> int:
    if fhir.resources.__fhir_version__ != FHIR_VERSION:
        print(
            f"fhir.resources {fhir.resources.__version__} models FHIR "
            f"{fhir.resources.__fhir_version__}, not {FHIR_VERSION}: see requirements/fhir-r4.in",
            file=sys.stderr,
        )
        return 2
    if not arguments:
        print("usage: scripts/validate-fhir BUNDLE.json [...]", file=sys.stderr)
        return 2
    problems = [problem for argument in arguments for problem in check(Path(argument))]
    for problem in problems:
        print(problem, file=sys.stderr)
    version = f"fhir.resources {fhir.resources.__version__}, FHIR {FHIR_VERSION}"
    if problems:
        print(f"{len(problems)} problem(s) ({version})", file=sys.stderr)
        return 1
    print(f"{len(arguments)} Bundle file(s) valid ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
