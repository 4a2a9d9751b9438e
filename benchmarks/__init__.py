"""The polyregion benchmark suite: ``python -m benchmarks`` (see benchmarks/README.md).

Nets: He-initialised ReLU MLPs with biases ~ N(0, 0.01^2) on the box [-1, 1]^d, fixed
seeds. For every net the suite runs each enumeration method of polyregion (and the peers
``regioncam`` and ``relucent`` when installed: ``pip install polyregion[bench]``), checks
that the region counts agree, and reports seconds, regions/s, LPs, LPs per region, peak
memory and speed ratios measured in the same run. Timings are never asserted.
"""
