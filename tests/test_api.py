"""The public API: every name re-exported by bpdiag resolves, and importing bpdiag is light."""

import subprocess
import sys

import pytest

import bpdiag


@pytest.mark.parametrize("name", bpdiag.__all__)
def test_every_export_resolves(name):
    assert callable(getattr(bpdiag, name))


def test_import_does_not_load_heavy_frameworks():
    code = "import sys, bpdiag; print(any(m in sys.modules for m in ('jax', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bpdiag.nope  # noqa: B018
