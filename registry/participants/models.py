"""The participant record, their wrapped data key, and the NHS-number blind index.

Identifiers are stored only sealed (``registry.crypto.fields``) under the participant's own
data key; deleting their ``participant_key`` row makes every sealed field unrecoverable.
What research needs in the clear is kept generalised: birth year and month, postcode
district.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from registry.db import Base, utcnow

COHORTS = ("EP", "TRD")
STATUS_ACTIVE = "active"
STATUS_SHREDDED = "shredded"
# Withdrawal levels, least strict first (UK Biobank, NIHR BioResource, HRA): W1, W2, W3.
# Here beside ``Participant.withdrawal_level``, which holds the strictest one recorded:
# identity refuses new data by it, below the consents package that records withdrawals.
NO_FURTHER_CONTACT = "no_further_contact"
NO_FURTHER_DATA = "no_further_data"
FULL = "full"
WITHDRAWAL_LEVELS = (NO_FURTHER_CONTACT, NO_FURTHER_DATA, FULL)

SEALED_COLUMNS = (
    "nhs_number_sealed",
    "given_name_sealed",
    "family_name_sealed",
    "date_of_birth_sealed",
    "postcode_sealed",
    "email_sealed",
    "phone_sealed",
)


class SealedBytes(TypeDecorator[bytes]):
    """A sealed field: stored as plain binary, but never usable in a SQL comparison.

    Each seal uses a fresh nonce, so ``column == sealed_value`` could never match anyway;
    refusing it loudly stops code from quietly searching ciphertext (or, worse, being
    "fixed" by storing plaintext). Exact-match search goes through the blind index.
    """

    impl = LargeBinary
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[bytes]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> NoReturn:
            raise TypeError(_REFUSAL)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> NoReturn:
            raise TypeError(_REFUSAL)


_REFUSAL = "a sealed column is encrypted; look up through the blind index"


class Participant(Base):
    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(
        String(32), unique=True, comment="random public id, e.g. P-7K3M0QX2V9HD; not derived"
    )
    cohort: Mapped[str] = mapped_column(String(3), comment="EP or TRD")
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    status: Mapped[str] = mapped_column(String(16), default=STATUS_ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    shredded_at: Mapped[dt.datetime | None]
    withdrawal_level: Mapped[str | None] = mapped_column(
        String(20), comment="strictest withdrawal recorded; null while taking part fully"
    )
    withdrawn_at: Mapped[dt.datetime | None]

    nhs_number_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    given_name_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    family_name_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    date_of_birth_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    postcode_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    email_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)
    phone_sealed: Mapped[bytes | None] = mapped_column(SealedBytes)

    birth_year: Mapped[int | None]
    birth_month: Mapped[int | None]
    postcode_district: Mapped[str | None] = mapped_column(
        String(4), comment="outward code only, e.g. B15"
    )

    # Demographics, coded (registry/participants/data/reference.toml).
    enrolled_on: Mapped[dt.date | None]
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sex: Mapped[str | None] = mapped_column(String(10))
    gender_identity: Mapped[str | None] = mapped_column(String(1), comment="MHSDS code")
    ethnicity: Mapped[str | None] = mapped_column(String(2), comment="NHS DD ethnic category")
    ethnicity_group: Mapped[str | None] = mapped_column(String(10), comment="ONS 2021, derived")
    imd_decile: Mapped[int | None] = mapped_column(comment="1 most deprived; null if unknown")
    imd_version: Mapped[str | None] = mapped_column(String(8), comment="IoD2019 or IoD2025")

    # Clinical. Months are stored as their first day.
    diagnosis_icd10: Mapped[str | None] = mapped_column(String(8))
    psychosis_onset: Mapped[dt.date | None] = mapped_column(comment="EP, month precision")
    first_antipsychotic_on: Mapped[dt.date | None] = mapped_column(comment="EP")
    eip_accepted_on: Mapped[dt.date | None] = mapped_column(comment="EP")
    dup_weeks: Mapped[int | None] = mapped_column(
        comment="EP duration of untreated psychosis: given, or derived from the dates above"
    )
    episode_start: Mapped[dt.date | None] = mapped_column(comment="TRD, month precision")

    def __repr__(self) -> str:  # the public id and state only, never an identifier
        return f"<Participant {self.participant_id} {self.cohort} {self.status}>"


class ParticipantKey(Base):
    """The participant's data key, wrapped under a KEK epoch. Deleting the row shreds."""

    __tablename__ = "participant_key"

    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    dek_version: Mapped[int]
    kek_epoch: Mapped[int] = mapped_column(index=True, comment="as named in wrapped_dek's header")
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<ParticipantKey {self.participant_pk} v{self.dek_version} epoch {self.kek_epoch}>"


class DekCacheGeneration(Base):
    """One row, bumped in the transaction of every shred (and KEK destruction).

    Each process's data-key cache compares it with the generation it last saw before
    serving a key, and drops everything when it has moved: an invalidation that the
    cross-process notification failed to deliver still takes effect on the next read.
    """

    __tablename__ = "dek_cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[dt.datetime | None]


class ParticipantCorrection(Base):
    """A corrected NHS number or date of birth: the value it replaced and the reason, both
    sealed under the participant's data key, so shredding them destroys these too."""

    __tablename__ = "participant_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    field: Mapped[str] = mapped_column(String(24), comment="nhs_number or date_of_birth")
    prior_sealed: Mapped[bytes | None] = mapped_column(
        SealedBytes, comment="the value replaced; null once shredded"
    )
    reason_sealed: Mapped[bytes | None] = mapped_column(
        SealedBytes, comment="why, in the clinician's words; null once shredded"
    )
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    corrected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ParticipantCorrection {self.participant_pk} {self.field}>"


class NhsNumberIndex(Base):
    """Truncated blind index of the NHS number: narrows duplicate checks to a few rows."""

    __tablename__ = "nhs_number_index"

    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    index_value: Mapped[int] = mapped_column(BigInteger, index=True)
    # Indexed so that the few widths in use are found by a loose index scan, not by
    # reading every row (see identity.index_widths_in_use).
    bits: Mapped[int] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<NhsNumberIndex {self.participant_pk}>"


class ParticipantFacts(Base):
    """One query-ready row per participant, kept current by the actions that change them.

    Eligibility and reports read only this table: coarse attributes, latest scores and
    derived counts, and the consent state, so a count never joins histories or decrypts.
    """

    __tablename__ = "participant_facts"
    __table_args__ = (
        Index("ix_participant_facts_cohort_contactable", "cohort", "contactable"),
        Index("ix_participant_facts_site_id", "site_id"),
    )

    participant_pk: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True
    )
    cohort: Mapped[str] = mapped_column(String(3))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    birth_month_start: Mapped[dt.date | None] = mapped_column(
        comment="first day of the birth month: age is counted from it"
    )
    sex: Mapped[str | None] = mapped_column(String(10))
    gender_identity: Mapped[str | None] = mapped_column(String(1))
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    ethnicity_group: Mapped[str | None] = mapped_column(String(10))
    postcode_district: Mapped[str | None] = mapped_column(String(4))
    imd_decile: Mapped[int | None]
    # Deciles of different IoD editions are never pooled: reports split by this.
    imd_version: Mapped[str | None] = mapped_column(String(8), comment="IoD2019 or IoD2025")
    diagnosis_icd10: Mapped[str | None] = mapped_column(String(8))
    enrolled_on: Mapped[dt.date | None]
    psychosis_onset: Mapped[dt.date | None]
    episode_start: Mapped[dt.date | None]

    # Total of the latest assessment (by administered_on) of each instrument.
    score_phq9: Mapped[int | None]
    score_gad7: Mapped[int | None]
    score_madrs: Mapped[int | None]
    score_hamd17: Mapped[int | None]
    score_qids_sr16: Mapped[int | None]
    score_panss: Mapped[int | None]
    score_bprs: Mapped[int | None]
    score_cgi_s: Mapped[int | None]
    score_sofas: Mapped[int | None]
    score_psp: Mapped[int | None]
    score_cgi_i: Mapped[int | None]
    score_cdss: Mapped[int | None]
    score_cssrs_screen: Mapped[int | None] = mapped_column(
        comment="risk level of the latest C-SSRS screen: 0 none, 1 low, 2 moderate, 3 high"
    )

    # Response and remission over time (TRD), by the definitions in outcomes.toml: the
    # scale used, its baseline and latest assessment. Null where not derivable.
    outcome_scale: Mapped[str | None] = mapped_column(String(12))
    outcome_baseline_total: Mapped[int | None]
    outcome_baseline_on: Mapped[dt.date | None]
    outcome_latest_total: Mapped[int | None]
    outcome_latest_on: Mapped[dt.date | None]
    response: Mapped[bool | None] = mapped_column(
        Boolean, comment="latest total at least 50% below baseline"
    )
    remission: Mapped[bool | None] = mapped_column(
        Boolean, comment="latest total within the scale's remission threshold"
    )
    outcome_definitions: Mapped[str | None] = mapped_column(
        String(16), comment="outcomes.toml version; null where none is derived (EP)"
    )

    # Follow-up completeness per visit of the schedule (schedule.toml): complete, partial or
    # none; null for a visit the participant's cohort does not have. Kept from what is
    # recorded alone, so it never goes stale with the date; due or missed is worked out on
    # the day from enrolled_on (registry.facts.followup).
    followup_baseline: Mapped[str | None] = mapped_column(String(8))
    followup_week_8: Mapped[str | None] = mapped_column(String(8))
    followup_month_3: Mapped[str | None] = mapped_column(String(8))
    followup_month_6: Mapped[str | None] = mapped_column(String(8))
    followup_month_12: Mapped[str | None] = mapped_column(String(8))
    followup_month_24: Mapped[str | None] = mapped_column(String(8))
    followup_schedule: Mapped[str | None] = mapped_column(
        String(16), comment="schedule.toml version the follow-up columns were derived by"
    )

    failed_adequate_trials: Mapped[int] = mapped_column(default=0)
    failed_trials_definition: Mapped[str | None] = mapped_column(
        String(32), comment="which definition counted them, e.g. eu-pearl-2022@2"
    )
    msm_score: Mapped[int | None] = mapped_column(comment="Maudsley Staging Method, 3-15")

    # Current consent per item: the latest event for it.
    consent_registry_storage: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_contact_for_research: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_record_access: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_record_linkage: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_commercial_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_samples: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_future_research: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_inform_gp: Mapped[bool] = mapped_column(Boolean, default=False)
    contactable: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="may be approached: consent to contact, not withdrawn"
    )

    def __repr__(self) -> str:
        return f"<ParticipantFacts {self.participant_pk} {self.cohort}>"
