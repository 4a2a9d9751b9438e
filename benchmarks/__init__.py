"""The polyregion benchmark suite: ``python -m benchmarks`` (see benchmarks/README.md).

Built on :mod:`polyregion.bench` (in the package): the nets (``polyregion.bench.nets``,
He-initialised ReLU MLPs with biases ~ N(0, 0.01^2) on the box [-1, 1]^d, fixed seeds),
the quick suite (``--quick``) and the JSON results writer. For every net the full suite
runs each enumeration method of polyregion (and the peers ``regioncam`` and ``relucent``
when installed: ``pip install polyregion[bench]``), checks that the region counts agree,
and reports seconds, regions/s, LPs, LPs per region, peak memory and speed ratios
measured in the same run, in README.md and results.json. Timings are never asserted.
"""
