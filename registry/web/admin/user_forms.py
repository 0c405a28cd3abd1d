"""The admin's user forms and the filters of the user list. As elsewhere the forms hold no
rules: the account actions judge what is entered and the errors land on these fields."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, StringField
from wtforms.fields.choices import SelectChoice

from registry.web.forms import RegistryForm, radios, select, text_field
from registry.web.labels import ROLE_CHOICES

ANY = ""
STATUS_CHOICES = {ANY: "Any", "active": "Active", "inactive": "Deactivated"}
SECOND_FACTOR_CHOICES = {ANY: "Any", "yes": "Set up", "no": "Not set up"}
# Last sign-in filters: never, lately, or long ago (an account someone may have left).
LAST_SIGN_IN_CHOICES = {
    ANY: "Any time",
    "never": "Never",
    "within_30": "Within the last 30 days",
    "over_90": "More than 90 days ago",
}


def site_choices(sites: dict[str, str], *, blank: str) -> list[SelectChoice]:
    return [SelectChoice(ANY, blank), *(SelectChoice(code, name) for code, name in sites.items())]


class UserFilterForm(RegistryForm):
    """Sent by GET: the filters say nothing about anyone, and a filtered list can be shared."""

    class Meta:
        csrf = False

    role = select("Role", {ANY: "Any role", **ROLE_CHOICES})
    site = select("Site", {ANY: "Any site"})
    status = select("Status", STATUS_CHOICES)
    second_factor = select("Second factor", SECOND_FACTOR_CHOICES)
    last_sign_in = select("Last sign-in", LAST_SIGN_IN_CHOICES)

    def __init__(self, *args: object, sites: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.site.choices = site_choices(sites, blank="Any site")
        self._allowed = {
            self.role: ({ANY, *ROLE_CHOICES}, "Choose a role from the list."),
            self.site: ({ANY, *sites}, "Choose a site from the list."),
            self.status: (set(STATUS_CHOICES), "Choose a status from the list."),
            self.second_factor: (
                set(SECOND_FACTOR_CHOICES),
                "Choose whether a second factor is set up.",
            ),
            self.last_sign_in: (
                set(LAST_SIGN_IN_CHOICES),
                "Choose when they last signed in from the list.",
            ),
        }

    def validate(self, extra_validators: object = None) -> bool:
        """Only the listed choices (a hand-edited address gets a message, not a 500)."""
        for field, (allowed, message) in self._allowed.items():
            if (field.data or ANY) not in allowed:
                field.errors = [message]
        return not self.errors


class StepUpFields(RegistryForm):
    """The admin's own security code (or, without a second factor, password) again."""

    code = StringField("Your security code")
    password = PasswordField("Your password")


class CreateUserForm(RegistryForm):
    WHEN_MISSING = {"role": "Choose a role."}

    name = text_field("Full name")
    email = text_field("Email address")
    role = radios("Role", ROLE_CHOICES)
    site = select("Site (clinicians only)", {})
    organisation = text_field("Organisation (partners)")


class ChangeAccessForm(StepUpFields):
    role = radios("Role", ROLE_CHOICES)
    site = select("Site (clinicians only)", {})
    organisation = text_field("Organisation (partners)")


class LinkSubjectForm(StepUpFields):
    subject = text_field("Their subject at the identity provider")


class EndSessionsForm(StepUpFields):
    revoke_tokens = BooleanField("Revoke their API tokens too")
