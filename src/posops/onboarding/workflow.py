"""Onboarding (POS 申请): the application's steps, who takes each, the materials and upload rules.

The steps follow how a merchant gets a terminal: submit an application with the materials,
the provider reviews them (审核资料), approves or rejects with a reason (a rejected application
may be corrected and resubmitted), a contract is signed (签订合同, which fixes the fees), the
terminal is installed and tested (安装调试), the merchant is trained (培训使用), and the
terminal goes live (正式使用).

>>> facts = ApplicationFacts(ApplicantType.INDIVIDUAL, terminal_model="P2")
>>> [c.subject for c in missing_materials(facts.applicant_type, facts.materials)]
['application_form', 'id_card', 'bank_account']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from posops.core.errors import RuleBroken
from posops.core.labels import Condition, Label, catalog_condition, catalog_labels, catalog_sentence
from posops.core.transitions import (
    ACTOR_LABELS,
    ConditionsNotMet,
    IllegalTransition,
    NotAllowed,
    TransitionError,
    allowed_sentence,
)
from posops.terminals.lifecycle import Actor


class ApplicantType(StrEnum):
    """Who applies: a registered business (商户/企业) or an individual (个人)."""

    BUSINESS = "business"
    INDIVIDUAL = "individual"


class Material(StrEnum):
    """A document an application must carry."""

    APPLICATION_FORM = "application_form"
    BUSINESS_LICENCE = "business_licence"
    TAX_REGISTRATION = "tax_registration"
    LEGAL_REP_ID = "legal_rep_id"
    PREMISES_PROOF = "premises_proof"
    ID_CARD = "id_card"
    BANK_ACCOUNT = "bank_account"


MATERIAL_LABELS: Mapping[Material, Label] = catalog_labels("terminals.material.", Material)
APPLICANT_LABELS: Mapping[ApplicantType, Label] = catalog_labels("terminals.applicant.", ApplicantType)

REQUIRED_MATERIALS: Mapping[ApplicantType, tuple[Material, ...]] = {
    ApplicantType.BUSINESS: (
        Material.APPLICATION_FORM,
        Material.BUSINESS_LICENCE,
        Material.TAX_REGISTRATION,
        Material.LEGAL_REP_ID,
        Material.PREMISES_PROOF,
        Material.BANK_ACCOUNT,
    ),
    ApplicantType.INDIVIDUAL: (Material.APPLICATION_FORM, Material.ID_CARD, Material.BANK_ACCOUNT),
}
"""The full checklist per applicant type, in the order it is shown."""

OPTIONAL_WITH_UNIFIED_LICENCE: frozenset[Material] = frozenset({Material.TAX_REGISTRATION})
"""Since 三证合一 (2015) the business licence carries the 统一社会信用代码 and replaces the separate
tax registration certificate, so it is asked for only from businesses with an old-style licence."""


def required_materials(applicant_type: ApplicantType | str, *, unified_licence: bool = False) -> tuple[Material, ...]:
    """Return the materials an applicant must provide; a unified licence makes tax registration optional."""
    full = REQUIRED_MATERIALS[ApplicantType(applicant_type)]
    if not unified_licence:
        return full
    return tuple(m for m in full if m not in OPTIONAL_WITH_UNIFIED_LICENCE)


def optional_materials(applicant_type: ApplicantType | str, *, unified_licence: bool = False) -> tuple[Material, ...]:
    """Return the checklist items this applicant may provide but need not."""
    needed = required_materials(applicant_type, unified_licence=unified_licence)
    return tuple(m for m in REQUIRED_MATERIALS[ApplicantType(applicant_type)] if m not in needed)


class MaterialState(StrEnum):
    """Where one material stands: missing, uploaded, checked by the provider, or sent back."""

    MISSING = "missing"
    PROVIDED = "provided"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ApplicationStatus(StrEnum):
    """Where an onboarding application is; ``draft`` until the applicant submits it."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    CONTRACTED = "contracted"
    INSTALLING = "installing"
    TRAINING = "training"
    LIVE = "live"


class OnboardingAction(StrEnum):
    """A step of an onboarding application."""

    SUBMIT = "submit"
    START_REVIEW = "start_review"
    APPROVE = "approve"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    SIGN_CONTRACT = "sign_contract"
    INSTALL = "install"
    TRAIN = "train"
    GO_LIVE = "go_live"


class MaterialAction(StrEnum):
    """A change to one material of an application."""

    PROVIDE = "provide"
    VERIFY = "verify"
    REJECT = "reject"


STATUS_LABELS: Mapping[ApplicationStatus, Label] = catalog_labels("terminals.application.", ApplicationStatus)

ACTION_LABELS: Mapping[OnboardingAction | MaterialAction, Label] = {
    **catalog_labels("terminals.onboarding_action.", OnboardingAction),
    **catalog_labels("terminals.material_action.", MaterialAction),
}

APPLICANTS: frozenset[str] = frozenset({Actor.MERCHANT, Actor.AGENT})
"""Who files an application and its materials: the merchant, or an agent on a walk-in applicant's behalf."""

_AGENT = frozenset({Actor.AGENT})
_STEPS: Mapping[OnboardingAction, tuple[ApplicationStatus, ApplicationStatus, frozenset[str]]] = {
    OnboardingAction.SUBMIT: (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, APPLICANTS),
    OnboardingAction.START_REVIEW: (ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW, _AGENT),
    OnboardingAction.APPROVE: (ApplicationStatus.UNDER_REVIEW, ApplicationStatus.APPROVED, _AGENT),
    OnboardingAction.REJECT: (ApplicationStatus.UNDER_REVIEW, ApplicationStatus.REJECTED, _AGENT),
    OnboardingAction.RESUBMIT: (ApplicationStatus.REJECTED, ApplicationStatus.SUBMITTED, APPLICANTS),
    OnboardingAction.SIGN_CONTRACT: (ApplicationStatus.APPROVED, ApplicationStatus.CONTRACTED, _AGENT),
    OnboardingAction.INSTALL: (ApplicationStatus.CONTRACTED, ApplicationStatus.INSTALLING, _AGENT),
    OnboardingAction.TRAIN: (ApplicationStatus.INSTALLING, ApplicationStatus.TRAINING, _AGENT),
    OnboardingAction.GO_LIVE: (ApplicationStatus.TRAINING, ApplicationStatus.LIVE, _AGENT),
}
"""Each step: the status it starts from, where it leads, who takes it."""

_MATERIAL_STEPS: Mapping[MaterialAction, tuple[frozenset[ApplicationStatus], frozenset[str]]] = {
    MaterialAction.PROVIDE: (
        frozenset(
            {
                ApplicationStatus.DRAFT,
                ApplicationStatus.SUBMITTED,
                ApplicationStatus.UNDER_REVIEW,
                ApplicationStatus.REJECTED,
            }
        ),
        APPLICANTS,
    ),
    MaterialAction.VERIFY: (frozenset({ApplicationStatus.UNDER_REVIEW}), _AGENT),
    MaterialAction.REJECT: (frozenset({ApplicationStatus.UNDER_REVIEW}), _AGENT),
}
"""Each material change: the application statuses it is possible in, and who makes it."""


@dataclass(frozen=True)
class ApplicationFacts:
    """What is recorded on an application, as it will be once the step's own data is saved."""

    applicant_type: ApplicantType
    materials: Mapping[str, MaterialState] = field(default_factory=dict)
    """State per :class:`Material` code; an absent code counts as missing."""
    unified_licence: bool = False
    """The business licence carries a 统一社会信用代码 (三证合一): no separate tax registration needed."""
    terminal_model: str | None = None
    """The terminal model chosen for the business (确定需求)."""
    contract_ref: str | None = None
    fee_plan_recorded: bool = False
    """The contract's fee plan (see ``reactivation.FeePlan``) is stored for the merchant."""
    terminal_serial: str | None = None
    """Serial number of the device assigned and installed."""
    installation_verified: bool = False
    """Installation and debugging passed: the terminal signed in and ran a test transaction."""
    training_done: bool = False


_CONDITION = "onboarding.condition."
_REFUSAL = "onboarding.refusal."


def missing_materials(
    applicant_type: ApplicantType | str,
    materials: Mapping[str, MaterialState | str],
    *,
    verified: bool = False,
    unified_licence: bool = False,
) -> list[Condition]:
    """List the required materials that are not yet uploaded (or, with ``verified=True``, not verified).

    Each entry has the material code as ``subject`` and zh-CN / English text naming the material.
    """
    unmet = []
    for material in required_materials(applicant_type, unified_licence=unified_licence):
        state = MaterialState(materials.get(material, MaterialState.MISSING))
        label = MATERIAL_LABELS[material]
        if state is MaterialState.MISSING:
            unmet.append(catalog_condition(_CONDITION, "material_missing", str(material), material=label))
        elif state is MaterialState.REJECTED:
            unmet.append(catalog_condition(_CONDITION, "material_rejected", str(material), material=label))
        elif verified and state is MaterialState.PROVIDED:
            unmet.append(catalog_condition(_CONDITION, "material_unverified", str(material), material=label))
    return unmet


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


def requirements(action: OnboardingAction | str, facts: ApplicationFacts) -> list[Condition]:
    """List what ``action`` still needs on this application (empty when it may be taken)."""
    act = OnboardingAction(action)
    unmet: list[Condition] = []
    if act in (OnboardingAction.SUBMIT, OnboardingAction.RESUBMIT):
        if _blank(facts.terminal_model):
            unmet.append(catalog_condition(_CONDITION, "terminal_model_missing"))
        unmet += missing_materials(facts.applicant_type, facts.materials, unified_licence=facts.unified_licence)
    elif act is OnboardingAction.APPROVE:
        unmet += missing_materials(
            facts.applicant_type, facts.materials, verified=True, unified_licence=facts.unified_licence
        )
    elif act is OnboardingAction.SIGN_CONTRACT:
        if _blank(facts.contract_ref):
            unmet.append(catalog_condition(_CONDITION, "contract_ref_missing"))
        if not facts.fee_plan_recorded:
            unmet.append(catalog_condition(_CONDITION, "fee_plan_missing"))
    elif act is OnboardingAction.INSTALL:
        if _blank(facts.terminal_serial):
            unmet.append(catalog_condition(_CONDITION, "terminal_serial_missing"))
    elif act is OnboardingAction.TRAIN:
        if not facts.installation_verified:
            unmet.append(catalog_condition(_CONDITION, "installation_not_verified"))
    elif act is OnboardingAction.GO_LIVE and not facts.training_done:
        unmet.append(catalog_condition(_CONDITION, "training_not_done"))
    return unmet


def allowed_onboarding_actions(status: ApplicationStatus | str, role: str) -> list[OnboardingAction]:
    """List the steps ``role`` may take on an application in ``status``."""
    st = ApplicationStatus(status)
    who = str(role)
    return [act for act, (start, _, roles) in _STEPS.items() if start is st and who in roles]


def allowed_material_actions(status: ApplicationStatus | str, role: str) -> list[MaterialAction]:
    """List the changes ``role`` may make to materials of an application in ``status``."""
    st = ApplicationStatus(status)
    who = str(role)
    return [act for act, (statuses, roles) in _MATERIAL_STEPS.items() if st in statuses and who in roles]


def _refuse(
    cls: type[TransitionError],
    action: OnboardingAction | MaterialAction,
    status: ApplicationStatus,
    role: str,
    problem: Label,
    allowed: Sequence[OnboardingAction | MaterialAction],
    unmet: Sequence[Condition] = (),
) -> TransitionError:
    hint = allowed_sentence(role, allowed, ACTION_LABELS)
    return cls(
        action=action,
        status=status,
        role=role,
        allowed=allowed,
        zh=f"{problem.zh}{hint.zh}",
        en=f"{problem.en} {hint.en}",
        unmet=unmet,
    )


def _wrong_state(action: OnboardingAction | MaterialAction, status: ApplicationStatus) -> Label:
    here, verb = STATUS_LABELS[status], ACTION_LABELS[action]
    return catalog_sentence(_REFUSAL + "wrong_state", status=here, action=verb)


def _wrong_role(action: OnboardingAction | MaterialAction, role: str) -> Label:
    who, verb = ACTOR_LABELS.get(role, Label(role, role)), ACTION_LABELS[action]
    return catalog_sentence(_REFUSAL + "wrong_role", actor=who.starting_sentence(), action=verb)


def step(
    status: ApplicationStatus | str,
    action: OnboardingAction | str,
    role: str,
    facts: ApplicationFacts,
    *,
    rejection_reason: str | None = None,
) -> ApplicationStatus:
    """Take ``action`` on an application in ``status`` and return its new status.

    Raises :class:`IllegalTransition` (not possible from this status), :class:`NotAllowed`
    (not this role) or :class:`ConditionsNotMet` (listing what is missing, e.g. unverified
    materials). A rejection needs a non-blank ``rejection_reason`` (RuleBroken, a ValueError, otherwise).
    After ``go_live`` the service activates the terminal through ``lifecycle.decide``.
    """
    st = ApplicationStatus(status)
    act, who = OnboardingAction(action), str(role)
    start, target, roles = _STEPS[act]
    if st is not start:
        raise _refuse(
            IllegalTransition, act, st, who, _wrong_state(act, st), allowed_onboarding_actions(st, who)
        )
    if who not in roles:
        raise _refuse(NotAllowed, act, st, who, _wrong_role(act, who), allowed_onboarding_actions(st, who))
    if act is OnboardingAction.REJECT and _blank(rejection_reason):
        raise RuleBroken("onboarding.error.rejection_reason")
    unmet = requirements(act, facts)
    if unmet:
        problem = catalog_sentence(_REFUSAL + "not_yet", action=ACTION_LABELS[act],
                                   conditions=Label("".join(c.zh for c in unmet), " ".join(c.en for c in unmet)))
        others = [a for a in allowed_onboarding_actions(st, who) if a is not act]
        raise _refuse(ConditionsNotMet, act, st, who, problem, others, unmet)
    return target


def material_step(
    status: ApplicationStatus | str,
    current: MaterialState | str,
    action: MaterialAction | str,
    role: str,
    *,
    note: str | None = None,
) -> MaterialState:
    """Change one material of an application in ``status`` and return its new state.

    The merchant uploads (again) while the application is being prepared or reviewed, or after a
    rejection; the agent verifies or sends back (with a ``note``) during review. Only an uploaded
    material can be verified or sent back.
    """
    st = ApplicationStatus(status)
    state, act, who = MaterialState(current), MaterialAction(action), str(role)
    statuses, roles = _MATERIAL_STEPS[act]
    if st not in statuses:
        raise _refuse(
            IllegalTransition, act, st, who, _wrong_state(act, st), allowed_material_actions(st, who)
        )
    if who not in roles:
        raise _refuse(NotAllowed, act, st, who, _wrong_role(act, who), allowed_material_actions(st, who))
    if act is MaterialAction.PROVIDE:
        return MaterialState.PROVIDED
    if state is not MaterialState.PROVIDED:
        problem = catalog_sentence(f"{_REFUSAL}not_uploaded.{act}", action=ACTION_LABELS[act])
        raise _refuse(IllegalTransition, act, st, who, problem, allowed_material_actions(st, who))
    if act is MaterialAction.REJECT:
        if _blank(note):
            raise RuleBroken("onboarding.error.send_back_note")
        return MaterialState.REJECTED
    return MaterialState.VERIFIED


# ---------------------------------------------------------------- the applicant's legal id

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""Characters of a 统一社会信用代码 (GB 32100-2015): digits and capitals without I, O, Z, S, V."""
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_OLD_REGISTRATION_NUMBER = re.compile(r"^\d{15}$")
_RESIDENT_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_RESIDENT_ID_CHECK = "10X98765432"


def looks_like_unified_credit_code(code: str) -> bool:
    """Tell whether ``code`` has the shape of a 统一社会信用代码 (18 characters; the check is not verified)."""
    return bool(_USCC_SHAPE.match(code.strip().upper()))


def unified_credit_code_check(code17: str) -> str:
    """Return the check character (GB 32100-2015, mod 31) of the first 17 characters of a 统一社会信用代码."""
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(code17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def resident_id_check(id17: str) -> str:
    """Return the check character (GB 11643, ISO 7064 MOD 11-2) of the first 17 digits of a 身份证号."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(id17))
    return _RESIDENT_ID_CHECK[total % 11]


def _birth_date_valid(id18: str) -> bool:
    try:
        born = date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def legal_id_problem(applicant_type: ApplicantType | str, legal_id: str) -> Label | None:
    """Say (in zh-CN and English, for an error) why ``legal_id`` is not a valid id for this applicant, or None.

    A business gives its 统一社会信用代码 (18 characters, check character verified) or, with a
    licence from before 三证合一, its 15-digit registration number (注册号); an individual gives an
    18-character resident id number (身份证号, check character and birth date verified).
    """
    code = legal_id.strip().upper()
    if ApplicantType(applicant_type) is ApplicantType.BUSINESS:
        if _OLD_REGISTRATION_NUMBER.match(code):
            return None
        if not _USCC_SHAPE.match(code):
            return catalog_sentence("onboarding.error.uscc_shape")
        expected = unified_credit_code_check(code[:17])
        if code[17] != expected:
            return catalog_sentence("onboarding.error.uscc_check", expected=expected)
        return None
    if not _RESIDENT_ID_SHAPE.match(code):
        return catalog_sentence("onboarding.error.resident_id_shape")
    if not _birth_date_valid(code):
        return catalog_sentence("onboarding.error.resident_id_birth_date")
    expected = resident_id_check(code[:17])
    if code[17] != expected:
        return catalog_sentence("onboarding.error.resident_id_check", expected=expected)
    return None


def has_unified_licence(applicant_type: ApplicantType | str, legal_id: str) -> bool:
    """Tell whether a business's id is a 统一社会信用代码, so its licence is unified (三证合一)."""
    return ApplicantType(applicant_type) is ApplicantType.BUSINESS and looks_like_unified_credit_code(legal_id)


# ---------------------------------------------------------------- uploads


