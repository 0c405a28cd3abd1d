"""Single sign-on settings: complete or absent, the secret never in the TOML file, https in
production, and every role left a way to sign in."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.config import ConfigurationError, Settings

PROVIDER = {
    "REGISTRY_OIDC_ISSUER": "https://login.example.org/tenant/v2.0",
    "REGISTRY_OIDC_CLIENT_ID": "registry",
    "REGISTRY_OIDC_CLIENT_SECRET": "provider-issued-secret",
    "REGISTRY_OIDC_PROVIDER_NAME": "Microsoft Entra ID",
}


def test_provider_settings_are_read_from_the_environment() -> None:
    settings = Settings.load(
        {
            **PROVIDER,
            "REGISTRY_OIDC_MFA_AMR": "mfa, otp,hwk",
            "REGISTRY_OIDC_MFA_ACR": "urn:nhs:cis2:aal3",
            "REGISTRY_PASSWORD_ROLES": "partner,researcher",
        }
    )

    assert settings.oidc_enabled
    assert settings.oidc_mfa_amr_values == {"mfa", "otp", "hwk"}
    assert settings.oidc_mfa_acr_values == {"urn:nhs:cis2:aal3"}
    assert settings.password_role_values == {"partner", "researcher"}
    assert "provider-issued-secret" not in repr(settings)


def test_no_provider_by_default_and_every_role_keeps_its_password() -> None:
    settings = Settings.load({})

    assert not settings.oidc_enabled
    assert settings.password_role_values == {"clinician", "researcher", "admin", "partner"}


def test_client_secret_may_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "oidc-secret"
    secret_file.write_text("secret-from-a-file\n")
    environ = {k: v for k, v in PROVIDER.items() if k != "REGISTRY_OIDC_CLIENT_SECRET"}

    settings = Settings.load({**environ, "REGISTRY_OIDC_CLIENT_SECRET_FILE": str(secret_file)})

    assert settings.oidc_client_secret == "secret-from-a-file"


def test_missing_secret_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="REGISTRY_OIDC_CLIENT_SECRET_FILE names a file"):
        Settings.load({"REGISTRY_OIDC_CLIENT_SECRET_FILE": str(tmp_path / "absent")})


def test_client_secret_in_the_toml_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "registry.toml"
    config.write_text('[registry]\noidc_client_secret = "in-a-file-anyone-can-read"\n')

    with pytest.raises(ConfigurationError, match="oidc_client_secret may not be in"):
        Settings.load({"REGISTRY_CONFIG": str(config)})


def test_incomplete_provider_names_every_missing_setting() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load({"REGISTRY_OIDC_ISSUER": "https://login.example.org"})

    message = str(excinfo.value)
    for name in ("oidc_client_id", "oidc_client_secret", "oidc_provider_name"):
        assert f"{name} is needed with oidc_issuer" in message


@pytest.mark.parametrize("issuer", ["login.example.org", "ftp://login.example.org", "https://"])
def test_issuer_that_is_not_a_url_is_refused(issuer: str) -> None:
    with pytest.raises(ConfigurationError, match="oidc_issuer must be a URL"):
        Settings.load({**PROVIDER, "REGISTRY_OIDC_ISSUER": issuer})


def test_unknown_password_role_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="password_roles names no such role: nurse"):
        Settings.load({**PROVIDER, "REGISTRY_PASSWORD_ROLES": "researcher,nurse"})


def test_password_roles_without_a_provider_are_refused() -> None:
    """Clinicians and admins would have no way to sign in at all."""
    with pytest.raises(ConfigurationError, match="leaves some roles no way to sign in"):
        Settings.load({"REGISTRY_PASSWORD_ROLES": "partner,researcher"})


def test_mfa_values_without_a_provider_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="need oidc_issuer"):
        Settings.load({"REGISTRY_OIDC_MFA_AMR": "mfa"})


def test_production_requires_an_https_issuer() -> None:
    with pytest.raises(ConfigurationError, match="REGISTRY_OIDC_ISSUER must be an https URL"):
        Settings.load(
            {
                "REGISTRY_MODE": "production",
                **PROVIDER,
                "REGISTRY_OIDC_ISSUER": "http://login.example.org",
            }
        )


def test_the_subject_claim_is_sub_or_entras_oid() -> None:
    assert Settings.load({}).oidc_subject_claim == "sub"
    assert Settings.load({"REGISTRY_OIDC_SUBJECT_CLAIM": "oid"}).oidc_subject_claim == "oid"
    with pytest.raises(ConfigurationError, match="oidc_subject_claim must be sub or oid"):
        Settings.load({"REGISTRY_OIDC_SUBJECT_CLAIM": "email"})


def test_the_providers_session_ends_at_sign_out_unless_turned_off() -> None:
    assert Settings.load(PROVIDER).oidc_end_provider_session
    assert not Settings.load(
        {**PROVIDER, "REGISTRY_OIDC_END_PROVIDER_SESSION": "false"}
    ).oidc_end_provider_session
    with pytest.raises(
        ConfigurationError, match="oidc_end_provider_session must be true or false, not 'maybe'"
    ):
        Settings.load({**PROVIDER, "REGISTRY_OIDC_END_PROVIDER_SESSION": "maybe"})


def test_max_age_follows_the_idle_timeout_unless_set(tmp_path: Path) -> None:
    """How long ago a person may have proved who they are to the provider: by default the
    registry's idle timeout, so a session that timed out is not resumed at the provider."""
    config = tmp_path / "registry.toml"
    config.write_text("[registry]\nidle_timeout_minutes = 20\n")

    assert Settings.load(PROVIDER).oidc_max_age == 15 * 60
    assert Settings.load({**PROVIDER, "REGISTRY_CONFIG": str(config)}).oidc_max_age == 20 * 60
    assert Settings.load({**PROVIDER, "REGISTRY_OIDC_MAX_AGE_SECONDS": "300"}).oidc_max_age == 300
    assert Settings.load({**PROVIDER, "REGISTRY_OIDC_MAX_AGE_SECONDS": "0"}).oidc_max_age == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "oidc_max_age_seconds must be 0 or more, not -1"),
        ("15m", "oidc_max_age_seconds must be a whole number, not '15m'"),
    ],
)
def test_max_age_must_be_a_whole_number_of_seconds(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        Settings.load({**PROVIDER, "REGISTRY_OIDC_MAX_AGE_SECONDS": value})
