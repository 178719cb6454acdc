"""Domain errors: every failure the user can act on carries a one-line remedy."""

from __future__ import annotations


class KvmnullError(Exception):
    """An error with a message naming what is wrong and a remedy saying what to do."""

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        if self.remedy:
            return f"{self.message}\n  remedy: {self.remedy}"
        return self.message


class PackageError(KvmnullError):
    """The target kernel's packages could not be resolved, fetched or unpacked."""


class ConfigError(KvmnullError):
    """The target's configuration does not allow what kvmnull needs."""


class ParseError(KvmnullError):
    """A kernel header could not be parsed the way kvmnull expects."""


class BuildError(KvmnullError):
    """A make, patch or code-generation step failed."""


class GuestError(KvmnullError):
    """The guest could not be booted or driven."""


class UsageError(KvmnullError):
    """A command-line value is invalid."""


class DataError(KvmnullError):
    """kvmnull's own data (module sources, kbuild patches, selftests) is not where it should be."""


class LogError(KvmnullError):
    """A file given as a kernel log is not one: unreadable, empty, binary, or badly compressed."""


class PatchError(KvmnullError):
    """A ``--patch`` cannot be read, reaches beyond what kvmnull rebuilds, or does not apply."""
