"""Sign-in forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, Regexp


class SignInForm(FlaskForm):
    email = StringField(
        "Email address",
        validators=[InputRequired("Enter your email address."), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password."), Length(max=128)],
    )


class SecurityCodeForm(FlaskForm):
    code = StringField(
        "Security code",
        validators=[
            InputRequired("Enter the 6-digit code from your authenticator app."),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="The code is 6 digits, like 123456."),
        ],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password."), Length(max=128)],
    )
    new_password = PasswordField(
        "New password",
        validators=[
            InputRequired("Enter a new password."),
            Length(min=12, max=128, message="Use between 12 and 128 characters."),
        ],
    )
