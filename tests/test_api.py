"""The public API: every name re-exported by bpdiag is the object its module defines, importing
bpdiag is light, and a call through the public names gives closed-form values."""

import importlib
import subprocess
import sys

import numpy as np
import pytest

import bpdiag


@pytest.mark.parametrize("name", bpdiag.__all__)
def test_every_export_is_its_modules_object(name):
    module = importlib.import_module(bpdiag._EXPORTS[name])
    obj = getattr(bpdiag, name)
    assert obj is getattr(module, name)
    # defined inside bpdiag (not a third-party object passed through), and listed by dir()
    assert getattr(obj, "__module__", "").startswith("bpdiag."), obj
    assert callable(obj) and name in dir(bpdiag)


def test_import_does_not_load_heavy_frameworks():
    code = (
        "import sys, bpdiag; bpdiag.dense_hea; bpdiag.prepare; "
        "print(sorted(m for m in ('jax', 'torch', 'pennylane') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bpdiag.nope  # noqa: B018


def test_public_calls_give_closed_form_values():
    c = bpdiag.dense_hea(3, 2)  # RY, RZ on every qubit per layer: 2 * 3 * 2 parameters
    assert (c.n_qubits, c.n_params) == (3, 12)
    # the global-cost diagonal of Z⊗Z⊗Z: +1 on even-parity basis states, -1 on odd ones
    diag = np.asarray(bpdiag.cost_diagonal("global", 3))
    parity = np.array([bin(i).count("1") % 2 for i in range(8)])
    np.testing.assert_array_equal(diag, 1 - 2 * parity)
    # Page (1993): mean entropy of 1 qubit of a Haar-random 2-qubit state is 1/3 nat
    # (sum_{k=n+1}^{mn} 1/k - (m-1)/(2n) with m = n = 2: 1/3 + 1/4 - 1/4 = 1/3)
    assert float(bpdiag.page_entropy(2, 1)) == pytest.approx(1 / 3, rel=1e-12)
