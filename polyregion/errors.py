"""Exceptions raised by polyregion.

Every error the library raises for user input derives from :class:`PolyregionError`.
Input errors also derive from :class:`ValueError` so that generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "PolyregionError",
    "InvalidNetworkError",
    "InvalidDomainError",
    "InvalidInputError",
    "SolverError",
    "BudgetExceededError",
    "ExecutorError",
    "FileFormatError",
    "CheckpointError",
]


class PolyregionError(Exception):
    """Base class of all polyregion errors."""


class InvalidInputError(PolyregionError, ValueError):
    """An argument has the wrong shape, dtype or value."""


class InvalidNetworkError(InvalidInputError):
    """A network description is malformed (shapes, values, activations, BN)."""


class InvalidDomainError(InvalidInputError):
    """A domain is malformed, empty, or does not match the network."""


class FileFormatError(InvalidInputError):
    """A file is corrupt, truncated, of an unknown version, or holds pickled objects."""


class CheckpointError(FileFormatError):
    """A checkpoint or ``out=`` directory cannot be trusted or used: a shard written for
    another problem or unit plan, a shard whose contents do not match its digest or its
    work units (tampered or corrupt), shards that overlap, or files named like the
    library's that it did not write (they are never overwritten or deleted)."""


class SolverError(PolyregionError, RuntimeError):
    """A linear program could not be solved reliably."""


class ExecutorError(PolyregionError, RuntimeError):
    """A worker of a parallel executor died (killed, out of memory) before finishing its
    work; the results of batches already completed were checkpointed if checkpoints
    were on."""


class BudgetExceededError(PolyregionError, RuntimeError):
    """An enumeration hit a budget (regions, seconds, memory).

    Attributes
    ----------
    partial : RegionSet or None
        The regions completed before the budget was hit.
    """

    def __init__(self, message: str, partial=None):
        super().__init__(message)
        self.partial = partial
