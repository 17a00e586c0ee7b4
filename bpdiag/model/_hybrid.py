"""The hybrid quantum-classical option-pricing regressor and its classical twins.

    features ──► encoder ──► angles ──► middle layer ──► decoder ──► price (scaled)
    [B, F]      Linear→ReLU→Linear(n)→Tanh, × angle_scale      Linear→ReLU→Linear(1)

The middle layer is one of

* ``quantum``: the encoded circuit of :func:`hybrid_circuit` (RY(x_i) encoding, then the
  ansatz, ``original`` by default; with ``reupload`` RY(x_i) before every layer) whose data
  gates are driven by the n angles;
  readout <Z_i> on every qubit. Engines: ``torch`` (:class:`bpdiag.engines.torch.TorchCircuit`,
  batched statevector) or ``pennylane`` (PennyLane's ``qml.qnn.TorchLayer`` on any device).
* ``identity`` twin: the n angles go straight to the decoder (0 parameters).
* ``matched`` twin: :class:`MatchedLayer`, a small classical layer with exactly as many
  trainable parameters as the quantum layer.

Encoder and decoder are identical across the three, so a hybrid and its twins differ only in the
middle layer (the comparison behind ``qc`` in the study).

>>> m = build_model(23, qubits=4, layers=2)
>>> m(torch.zeros(5, 23)).shape
torch.Size([5])
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bpdiag.circuits import ANSATZE, Circuit
from bpdiag.circuits.encodings import angle, compose, encoded_circuit

TWINS = ("identity", "matched")
ENGINES = ("torch", "pennylane")
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def hybrid_circuit(
    ansatz: str = "original",
    n_qubits: int = 4,
    n_layers: int = 2,
    *,
    reupload: bool = False,
    seed: int = 0,
    circuit: Circuit | None = None,
) -> Circuit:
    """The circuit of the quantum layer: data features (the encoder's angles, radians) and the
    ansatz's trainable parameters.

    It is the one encoded circuit, :func:`bpdiag.circuits.encodings.encoded_circuit`: the
    ``angle`` encoding RY(x_i) on every wire in front of ``n_layers`` layers of the ansatz
    (``original`` is then exactly :func:`bpdiag.circuits.original_circuit`), or with
    ``reupload`` the ``reupload`` encoding (RY(x_i) before every layer). ``seed`` picks random
    circuit structure (``sparse`` pattern, ``mcclean`` axes).

    ``circuit`` (a lowered user circuit, :mod:`bpdiag.frontends`) replaces the ansatz: without
    data inputs (``n_data == 0``) it is the ``angle`` encoding RY(x_i) on every wire followed by
    the circuit, with its trainable parameters (``n_data = n_qubits``); with data inputs
    (``--data-params``) it is the circuit as it is, its data inputs driven by the encoder (one
    angle per input, ``n_data`` of them, in the circuit's own order), and no separate
    encoding is added. ``ansatz``, ``n_layers`` and ``reupload`` then do not apply.
    """
    if circuit is not None:
        if circuit.n_data:
            return circuit
        meta = {k: circuit.info(k) for k in ("n_layers", "param_labels") if circuit.info(k)}
        return compose(
            angle(circuit.n_qubits), circuit, name=f"angle+{circuit.name}", encoding="angle",
            ansatz=circuit.name, **meta,
        )  # fmt: skip
    if ansatz not in ANSATZE:
        raise ValueError(f"unknown ansatz {ansatz!r}; choose from {', '.join(ANSATZE)}")
    encoding = "reupload" if reupload else "angle"
    return encoded_circuit(encoding, n_qubits, n_layers, ansatz=ansatz, seed=seed)


def _pennylane_layer(circuit: Circuit, device: str, diff_method: str) -> nn.Module:
    import pennylane as qml

    from bpdiag.engines.pennylane import apply_circuit, make_device, measurement

    dev = make_device(device, circuit.n_qubits)

    @qml.qnode(dev, interface="torch", diff_method=diff_method)
    def f(inputs, weights):
        # inputs [B, D] -> columns [D][B] (PennyLane parameter broadcasting)
        apply_circuit(circuit, weights, inputs.T if inputs.ndim > 1 else inputs)
        return measurement("readout", circuit.n_qubits)

    # zeros_ draws nothing from torch's generator; QuantumLayer sets the initial weights
    return qml.qnn.TorchLayer(f, {"weights": (circuit.n_params,)}, init_method=nn.init.zeros_)


class QuantumLayer(nn.Module):
    """A circuit as a torch layer: angles float[B, n_data] (radians) -> <Z_i> float[B, n].

    The trainable parameters are ``weights`` float[n_params] (radians), initialised uniform in
    [0, 2π) from torch's global generator. ``engine="torch"`` runs the batched statevector of
    :mod:`bpdiag.engines.torch` in complex64 (float32 layers) or complex128 (float64);
    ``engine="pennylane"`` runs ``qml.qnn.TorchLayer`` on PennyLane device ``device`` (any name
    :func:`bpdiag.engines.pennylane.resolve_device` accepts, e.g. ``lightning.gpu``).
    """

    def __init__(
        self,
        circuit: Circuit,
        *,
        engine: str = "torch",
        device: str = "default.qubit",
        dtype: torch.dtype = torch.float32,
        diff_method: str = "best",
    ):
        super().__init__()
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.circuit = circuit
        self.engine = engine
        self.n_out = circuit.n_qubits
        init = torch.rand(circuit.n_params, dtype=dtype) * (2 * math.pi)
        if engine == "torch":
            from bpdiag.engines.torch import TorchCircuit

            self.weights = nn.Parameter(init)
            self.fn = TorchCircuit(circuit, "readout", dtype=_COMPLEX[dtype])
        else:
            self.fn = _pennylane_layer(circuit, device, diff_method)
            with torch.no_grad():
                self.fn.weights.data = init.clone()

    @property
    def n_params(self) -> int:
        return self.circuit.n_params

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        weights = self.weights if self.engine == "torch" else self.fn.weights
        # under mixed precision the angles may arrive in float16: the circuit runs at the
        # weights' precision, outside autocast
        with torch.autocast(angles.device.type, enabled=False):
            x = angles.to(weights.dtype)
            out = self.fn(weights, x) if self.engine == "torch" else self.fn(x)
        return out.to(angles.dtype)


class MatchedLayer(nn.Module):
    """Classical stand-in with exactly ``n_params`` trainable parameters: float[B, n] -> [B, n].

    ``ceil(n_params / n)`` residual ring layers ``h_i <- h_i + w_{l,i} tanh(h_{i+1 mod n})``
    (the ring mirrors the CNOT ring of the ``original`` circuit); the last layer's missing
    weights are fixed at 0. Weights start at 0, so the layer starts as the identity twin.
    """

    def __init__(self, n: int, n_params: int):
        super().__init__()
        if n < 1 or n_params < 0:
            raise ValueError(f"MatchedLayer needs n >= 1 and n_params >= 0, got {n}, {n_params}")
        self.n, self.n_params = n, n_params
        self.weights = nn.Parameter(torch.zeros(n_params))
        self.n_layers = -(-n_params // n)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        pad = self.n_layers * self.n - self.n_params
        w = torch.cat([self.weights.to(h.dtype), h.new_zeros(pad)]).view(self.n_layers, self.n)
        for layer in range(self.n_layers):
            h = h + w[layer] * torch.tanh(torch.roll(h, -1, dims=1))
        return h


class HybridModel(nn.Module):
    """Encoder → middle layer → decoder. ``forward(x float[B, F]) -> float[B]`` (the scaled
    target); ``kind`` is ``"quantum"``, ``"identity"`` or ``"matched"``.

    ``angle_scale`` multiplies the encoder's Tanh output, so the angles lie in
    [-angle_scale, angle_scale] radians (π by default: a full turn of RY).
    """

    def __init__(
        self,
        n_features: int,
        n_qubits: int,
        middle: nn.Module,
        *,
        kind: str,
        hidden: int = 32,
        angle_scale: float = math.pi,
    ):
        super().__init__()
        self.kind = kind
        self.angle_scale = float(angle_scale)
        self.encoder = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_qubits), nn.Tanh()
        )
        self.middle = middle
        n_out = getattr(middle, "n_out", n_qubits)
        self.decoder = nn.Sequential(nn.Linear(n_out, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def angles(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output float[B, n_qubits], radians."""
        return self.angle_scale * self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.middle(self.angles(x))).squeeze(-1)

    def middle_parameters(self) -> list[nn.Parameter]:
        """The middle layer's trainable parameters (the quantum group of the optimizer)."""
        return [p for p in self.middle.parameters() if p.requires_grad]

    def classical_parameters(self) -> list[nn.Parameter]:
        ids = {id(p) for p in self.middle_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in ids]


def build_model(
    n_features: int,
    *,
    qubits: int = 4,
    layers: int = 2,
    ansatz: str = "original",
    reupload: bool = False,
    twin: str | None = None,
    engine: str = "torch",
    device: str = "default.qubit",
    dtype: torch.dtype = torch.float32,
    hidden: int = 32,
    angle_scale: float = math.pi,
    seed: int = 0,
    diff_method: str = "best",
    circuit: Circuit | None = None,
) -> HybridModel:
    """Build a hybrid model (``twin=None``) or one of its classical twins.

    Parameters are initialised from torch's global generator (seed it first). ``seed`` only
    picks random circuit structure (``sparse`` random pattern, ``mcclean`` axes). A twin has the
    same encoder and decoder shapes; the ``matched`` twin's middle layer has exactly the quantum
    layer's parameter count. ``circuit``: a lowered user circuit instead of ``ansatz`` (see
    :func:`hybrid_circuit`); the encoder then gives one angle per data input of the quantum
    circuit (``n_qubits`` without ``--data-params``), and the twins keep that width.
    """
    if int(qubits) < 1:
        raise ValueError(f"qubits must be >= 1, got {qubits}")
    if int(hidden) < 1:
        raise ValueError(f"hidden must be >= 1, got {hidden}")
    if twin not in (None, *TWINS):
        raise ValueError(f"twin must be one of {', '.join(TWINS)}, got {twin!r}")
    if circuit is not None and circuit.n_qubits != int(qubits):
        raise ValueError(f"circuit has {circuit.n_qubits} qubits, not qubits={qubits}")
    circuit = hybrid_circuit(ansatz, qubits, layers, reupload=reupload, seed=seed, circuit=circuit)
    n_angles = circuit.n_data
    if twin is None:
        middle: nn.Module = QuantumLayer(
            circuit, engine=engine, device=device, dtype=dtype, diff_method=diff_method
        )
        kind = "quantum"
    elif twin == "identity":
        middle, kind = nn.Identity(), "identity"
    else:
        middle, kind = MatchedLayer(n_angles, circuit.n_params), "matched"
    model = HybridModel(
        n_features, n_angles, middle, kind=kind, hidden=hidden, angle_scale=angle_scale
    )
    return model.to(dtype)
