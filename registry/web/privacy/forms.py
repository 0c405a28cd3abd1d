"""The allowance form: an admin gives an organisation's allowance in new questions per
period, as the page shows budgets; it is sent on as the API's body, in zCDP rho at the
current cost of a question, for the same schema and action to judge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wtforms import HiddenField, StringField
from wtforms.validators import Regexp

from registry.privacy.schemas import MAX_ALLOWANCE
from registry.web.forms import RegistryForm, strip_text

FORMAT_MESSAGE = "Give a whole number of questions, like 40, or leave it empty for the default."


class AllowanceForm(RegistryForm):
    organisation = HiddenField()
    # Empty: the registry's default. Whole numbers: a question is used whole.
    questions = StringField(
        "New questions",
        filters=[strip_text],
        validators=[Regexp(r"^[0-9]*$", message=FORMAT_MESSAGE)],
    )
    question_cost = 1.0  # zCDP rho; the view sets the current one

    def allowance_body(self) -> dict[str, Any]:
        """The API's body: the allowance in rho for that many questions, or null."""
        questions = self.questions.data or ""
        return {
            "organisation": self.organisation.data or "",
            "allowance": round(int(questions) * self.question_cost, 9) if questions else None,
        }

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        """The schema speaks of rho; the page asks for questions, so it says so. An error
        about the organisation (a name no partner has) belongs to no field on the page."""
        most = int(MAX_ALLOWANCE / self.question_cost)
        in_questions = f"Give a number of questions from 0 to {most}."
        super().show_errors(
            {
                ("questions" if name == "allowance" else ""): (
                    [in_questions] if name == "allowance" else list(messages)
                )
                for name, messages in errors.items()
            }
        )
