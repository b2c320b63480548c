"""Errors the domain raises; adapters map each to one of the contract's error codes."""


class DomainError(Exception):
    """Base class: a command was refused by a business rule."""


class InvalidTransitionError(DomainError):
    """A state machine was asked to move along an edge it does not have."""


class AccountClosedError(DomainError):
    pass


class AccountLockedError(DomainError):
    """The account is locked at the save: a password is neither counted nor let in."""


class CredentialsChangedError(DomainError):
    """The password checked was replaced, expired or cancelled before the save."""


class SecretAnswerPathClosedError(DomainError):
    """Three wrong secret answers in 24 hours closed that way to a new address."""


class AlreadyDecidedError(DomainError):
    pass


class IdempotencyKeyReusedError(DomainError):
    """The same Idempotency-Key came back with a different body."""


class CredentialsEmailCapError(DomainError):
    """Three credentials e-mails already went to this account in the last 24 hours."""

    def __init__(self, retry_after_seconds: int):
        super().__init__(f"retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class ConcurrencyError(DomainError):
    """Another writer kept winning the race; the caller may retry."""


class RegistrationNotFoundError(DomainError):
    pass


class InvalidCredentialsError(DomainError):
    """Sign-in failed: unknown identifier, wrong password, locked or closed account, alike."""


class WrongPasswordError(DomainError):
    """The password given to confirm a change is wrong (the session stays valid)."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


class WeakPasswordError(DomainError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class EmailVerificationInvalidError(DomainError):
    pass


class AccountNotFoundError(DomainError):
    pass


class AccountExistsError(DomainError):
    """Approving would open a second account for a member who has one."""


class SupportRequestNotFoundError(DomainError):
    pass


class FieldError(DomainError):
    """A value that is well formed but refers to something that is not there (422)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PasskeyRefusedError(DomainError):
    """A WebAuthn response failed a check (shape, origin, relying party, challenge, signature,
    counter). The message is a short reason for logs: never a challenge or credential bytes."""


class PasskeyRequiredError(DomainError):
    """The member requires a passkey: a password alone no longer signs in."""


class ReauthenticationRequiredError(DomainError):
    """A sensitive change needs a proof of identity of the last 5 minutes in this session."""
