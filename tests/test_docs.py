"""Every code block of docs/*.md runs.

- ```python blocks of one file run in order in one namespace, in a fresh temporary
  directory (so files they write do not litter the checkout), with matplotlib on Agg; a
  block that starts with ``>>>`` runs as a doctest (its outputs are checked).
- ```bash blocks: every line that starts with ``polyregion `` runs through
  ``polyregion.cli.main`` in the same directory and must exit 0; other lines (``pip
  install ...``) are instructions, not run.
- A file holding ``<!-- docs-test: slow -->`` is marked slow; one holding
  ``<!-- docs-test: skip -->`` is skipped (say why next to the marker).
- A block that imports torch/onnx/sklearn is skipped when that package is missing.
- Scripts in docs/examples/ run with ``--quick`` and an output directory.
"""

import glob
import os
import re
import runpy
import shlex
import sys

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)
OPTIONAL = {"torch": "torch", "onnx": "onnx", "onnxruntime": "onnxruntime",
            "sklearn": "sklearn"}


def _doc_params():
    params = []
    readme = os.path.join(os.path.dirname(DOCS), "README.md")
    for path in sorted(glob.glob(os.path.join(DOCS, "*.md"))) + [readme]:
        text = open(path, encoding="utf-8").read()
        marks = []
        if "<!-- docs-test: slow -->" in text:
            marks.append(pytest.mark.slow)
        if "<!-- docs-test: skip -->" in text:
            marks.append(pytest.mark.skip(reason="marked docs-test: skip"))
        params.append(pytest.param(path, id=os.path.basename(path), marks=marks))
    return params


def _missing_optional(code):
    import importlib.util

    for mod in OPTIONAL:
        if re.search(rf"^\s*(import|from)\s+{mod}\b", code, re.M) and \
                importlib.util.find_spec(mod) is None:
            return mod
    return None


def _run_doctest(body, ns, name):
    import doctest

    test = doctest.DocTestParser().get_doctest(body, ns, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    runner.run(test, out=out.append, clear_globs=False)
    assert runner.failures == 0, "".join(out)


@pytest.mark.parametrize("path", _doc_params())
def test_doc_code_blocks_run(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from polyregion.cli import main

    text = open(path, encoding="utf-8").read()
    blocks = [(lang, body) for lang, body in FENCE.findall(text) if lang in ("python", "bash")]
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__docs__"}
    ran = 0
    for k, (lang, body) in enumerate(blocks):
        if lang == "python":
            missing = _missing_optional(body)
            if missing:
                pytest.skip(f"block {k} of {os.path.basename(path)} needs {missing}")
            name = f"{os.path.basename(path)}[block {k}]"
            try:
                if body.lstrip().startswith(">>>"):  # doctest-style block: outputs checked
                    _run_doctest(body, ns, name)
                else:
                    exec(compile(body, name, "exec"), ns)
            finally:
                plt.close("all")
            ran += 1
        else:
            for line in body.splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("polyregion "):
                    rc = main(shlex.split(line)[1:])
                    assert rc == 0, f"{os.path.basename(path)}: `{line}` exited {rc}"
                    ran += 1
    if not blocks:
        pytest.skip("no code blocks")


EXAMPLES = sorted(glob.glob(os.path.join(DOCS, "examples", "*.py")))


@pytest.mark.parametrize("script", [pytest.param(p, id=os.path.basename(p)) for p in EXAMPLES])
def test_example_scripts_run_quick(script, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setattr(sys, "argv", [script, "--quick", "--out", str(tmp_path)])
    monkeypatch.syspath_prepend(os.path.dirname(os.path.abspath(script)))  # as `python script`
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:  # scripts end with raise SystemExit(main())
        assert exc.code in (0, None), f"{script} exited {exc.code}"
    assert any(f.endswith(".png") for f in os.listdir(tmp_path))
