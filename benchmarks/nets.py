"""The benchmark nets live in the package: :mod:`polyregion.bench.nets` (one generator,
``he_net``/``he_weights``, and the named cases). This module re-exports them for the
scripts of benchmarks/."""

from polyregion.bench.nets import (  # noqa: F401
    BIAS_STD,
    CASES,
    QUICK_CASES,
    SEED,
    case_by_name,
    he_net,
    he_weights,
)
