"""Exceptions raised by the Poreline store."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of store errors."""


class NotFoundError(StoreError, LookupError):
    pass


class RecipeWorkflowError(StoreError):
    """A recipe operation that the release workflow does not allow."""


class ImmutableVersionError(RecipeWorkflowError):
    """The recipe version has been released and its content can no longer change."""


class InvalidTransitionError(RecipeWorkflowError):
    """The requested release-state transition is not allowed from the current state."""


class SignatureRequiredError(RecipeWorkflowError):
    """The operation needs the signature of a user with a sufficient role."""


class SameAuthorError(SignatureRequiredError):
    """The signer wrote or edited the version; a second person must sign."""


class InvalidAlarmTransitionError(StoreError):
    """The ISA-18.2 state machine does not allow this alarm operation now."""
