"""The coded drug list (``data/drugs.toml``): dm+d VTM codes and BNF classes, and matching a
name a clinician or client gives to one drug on it."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class DrugClass:
    key: str
    bnf: str
    label: str


@dataclass(frozen=True, slots=True)
class Drug:
    name: str
    vtm: str | None  # None until checked against a dm+d release (the file says which)
    drug_class: DrugClass
    synonyms: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True, slots=True)
class DrugList:
    version: str
    source: str
    classes: dict[str, DrugClass]
    drugs: tuple[Drug, ...]
    # Every accepted spelling (normalised name, synonym, brand, VTM code) -> its drug.
    by_spelling: dict[str, Drug]


def normalise(text: str) -> str:
    """Lower case, single spaces: how names are compared."""
    return " ".join(text.split()).lower()


@cache
def drug_list() -> DrugList:
    text = resources.files("registry.assessments").joinpath("data/drugs.toml").read_text()
    data = tomllib.loads(text)
    classes = {
        key: DrugClass(key, value["bnf"], value["label"]) for key, value in data["classes"].items()
    }
    drugs = tuple(
        Drug(
            name=d["name"],
            vtm=d["vtm"] or None,
            drug_class=classes[d["class"]],
            synonyms=tuple(d["synonyms"]),
        )
        for d in data["drugs"]
    )
    by_spelling: dict[str, Drug] = {}
    for drug in drugs:
        for spelling in (drug.name, *drug.synonyms, *([drug.vtm] if drug.vtm else [])):
            key = normalise(spelling)
            if by_spelling.setdefault(key, drug) is not drug:
                raise ValueError(f"drugs.toml: {key!r} names two drugs")
    return DrugList(data["version"], data["source"], classes, drugs, by_spelling)


def find_drug(text: str) -> Drug | None:
    """The drug ``text`` names (its name, a synonym, a brand name or its VTM code)."""
    return drug_list().by_spelling.get(normalise(text))


def drug_named(name: str) -> Drug | None:
    """The drug the registry stores under ``name`` (a trial's ``drug``)."""
    drug = find_drug(name)
    return drug if drug is not None and drug.name == name else None


def suggestions(text: str, *, limit: int = 3) -> list[str]:
    """The registry names of the drugs closest to ``text``, best first (for "did you mean")."""
    spellings = drug_list().by_spelling
    close = difflib.get_close_matches(normalise(text), spellings, n=10, cutoff=0.75)
    names: list[str] = []
    for spelling in close:
        name = spellings[spelling].name
        if name not in names:
            names.append(name)
    return names[:limit]
