"""The run's configuration and where its tensors live: :class:`TrainConfig`,
:func:`resolve_torch_device`."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from bpdiag._resources import MAX_SAMPLES, check_size
from bpdiag.model import ENGINES, TWINS

DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Torch device names ``device`` takes with the torch engine (also ``cuda:N``).
TORCH_DEVICES = ("cpu", "cuda", "auto")
_PL_DEFAULT = "default.qubit"
#: Largest model sizes accepted (checked before anything is built).
MAX_TRAIN_QUBITS = 60  # beyond the float range of the memory check; fits are checked in the loop
MAX_TRAIN_LAYERS = 100
MAX_HIDDEN = 4096


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on.

    Data: ``data`` (``"synthetic"`` or a path any option loader reads), ``index`` and ``vix``
    (paths of an index and a volatility-index history: the underlying price, realised volatility
    and volatility index of chains that lack them, :func:`bpdiag.data.prepare`), ``rate`` and
    ``dividend_yield`` (None: the market's, :data:`bpdiag.data.MARKETS`), ``subset`` (rows drawn
    before splitting; None = all), ``split`` (``"random"`` or ``"time"``), ``seed`` (drives the
    subset, the split, the initial weights, the shuffling and the tree baseline).
    Model: ``qubits``, ``layers`` (options; the result tables call them ``n_qubits`` and
    ``n_layers``), ``ansatz`` (``original``, ``dense``, ``sparse``, ``mcclean``),
    ``reupload``, ``twin`` (None for the hybrid, ``"identity"`` or ``"matched"``), ``engine``
    (``torch`` or ``pennylane``), ``device`` (the PennyLane device name, default
    ``default.qubit``, used by the pennylane engine; with the torch engine a torch device name,
    ``cpu``, ``cuda``, ``cuda:N`` or ``auto``, may be given here instead: it is stored as
    ``torch_device`` and ``device`` stays ``default.qubit``), ``hidden`` (width of the encoder
    and decoder), ``angle_scale`` (radians), ``dtype`` (``float32``: complex64 states;
    ``float64``: complex128). ``circuit``: your circuit as the quantum layer instead of
    ``ansatz`` (a spec string, a family ``(n_qubits, n_layers) -> circuit`` or one circuit
    object, :mod:`bpdiag.frontends`; ``ansatz`` then holds its label; a fixed circuit runs at
    its own size), ``data_params`` the names of its data inputs (see
    :func:`bpdiag.model.hybrid_circuit`: with data inputs the encoder drives them, without them
    an RY(x_i) encoding comes first).
    Optimiser: ``lr``/``weight_decay`` (classical group), ``lr_quantum``/
    ``weight_decay_quantum`` (quantum layer, or the twin's middle layer), ``batch_size``,
    ``epochs``, ReduceLROnPlateau ``plateau_patience``/``plateau_factor``/``min_lr``, early
    stopping ``patience`` (epochs without a better validation loss; 0 = off).
    Run: ``torch_device`` (where the torch tensors live: ``cpu``, ``cuda``, ``cuda:N`` or
    ``auto``; default ``auto`` with the pennylane engine on ``lightning.gpu``, else ``cpu``),
    ``amp`` (autocast + GradScaler, used on CUDA only), ``threads`` (torch intra-op threads
    during the run; None = leave as is), ``baselines``, ``out`` (the run's folder; when set
    and :func:`bpdiag.train.fit` gets no ``checkpoint`` sink, it logs and checkpoints there
    through :class:`bpdiag.results.train.TrainWriter`; None = nothing written), ``resume``
    (continue from ``out``'s last checkpoint), ``progress`` (a tqdm bar on stderr), ``plots``
    (whether :func:`bpdiag.results.train.write_train` is asked for the history figure).
    """

    data: str = "synthetic"
    index: str | None = None
    vix: str | None = None
    rate: float | None = None
    dividend_yield: float | None = None
    qubits: int = 4
    layers: int = 2
    ansatz: str = "original"
    reupload: bool = False
    subset: int | None = 1000
    split: str = "random"
    epochs: int = 20
    seed: int = 0
    engine: str = "torch"
    device: str | None = None
    twin: str | None = None
    batch_size: int = 64
    lr: float = 1e-2
    lr_quantum: float = 1e-2
    weight_decay: float = 1e-4
    weight_decay_quantum: float = 0.0
    hidden: int = 32
    angle_scale: float = math.pi
    dtype: str = "float32"
    plateau_patience: int = 3
    plateau_factor: float = 0.5
    min_lr: float = 1e-5
    patience: int = 10
    torch_device: str | None = None
    amp: bool = True
    threads: int | None = 1
    baselines: bool = True
    out: str | None = None
    resume: bool = False
    progress: bool = False
    plots: bool = True
    circuit: Any = None
    data_params: Any = None

    def __post_init__(self) -> None:
        # Sizes first, before anything is resolved or built (one line each).
        check_size("qubits", self.qubits, MAX_TRAIN_QUBITS)
        check_size("layers", self.layers, MAX_TRAIN_LAYERS)
        check_size("hidden", self.hidden, MAX_HIDDEN)
        check_size("batch_size", self.batch_size, MAX_SAMPLES)
        check_size("epochs", self.epochs, MAX_SAMPLES)
        self._resolve_devices()
        if self.circuit is not None:
            self._use_circuit()
        checks = [
            (self.qubits >= 1, f"qubits must be >= 1, got {self.qubits}"),
            (self.layers >= 0, f"layers must be >= 0, got {self.layers}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.hidden >= 1, f"hidden must be >= 1, got {self.hidden}"),
            (
                self.subset is None or self.subset >= 10,
                f"subset must be >= 10 rows, got {self.subset}",
            ),
            (
                self.lr > 0 and self.lr_quantum > 0,
                f"learning rates must be > 0, got {self.lr}, {self.lr_quantum}",
            ),
            (
                self.weight_decay >= 0 and self.weight_decay_quantum >= 0,
                "weight decays must be >= 0",
            ),
            (
                0 < self.plateau_factor < 1,
                f"plateau_factor must be in (0, 1), got {self.plateau_factor}",
            ),
            (self.patience >= 0, f"patience must be >= 0, got {self.patience}"),
            (
                self.engine in ENGINES,
                f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}",
            ),
            (
                self.twin in (None, *TWINS),
                f"twin must be one of {', '.join(TWINS)}, got {self.twin!r}",
            ),
            (self.dtype in DTYPES, f"dtype must be float32 or float64, got {self.dtype!r}"),
            (
                _is_torch_device(self.torch_device),
                f"torch_device must be cpu, cuda, cuda:N or auto, got {self.torch_device!r}",
            ),
            (not self.resume or self.out is not None, "resume needs an output folder (out)"),
            (
                self.rate is None or -0.05 <= self.rate <= 0.5,
                f"rate must be an annualised decimal in [-0.05, 0.5], got {self.rate}",
            ),
            (
                self.dividend_yield is None or 0 <= self.dividend_yield <= 0.2,
                f"dividend_yield must be an annualised decimal in [0, 0.2], got "
                f"{self.dividend_yield}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    def _resolve_devices(self) -> None:
        """Fill in ``device`` and ``torch_device`` (see the class docstring). ``device`` always
        ends up a PennyLane name (so ``dataclasses.replace(config, engine=...)`` stays valid):
        a torch device given as ``device`` with the torch engine moves to ``torch_device``."""
        dev, tdev = self.device, self.torch_device
        if dev is None:
            dev = _PL_DEFAULT
        elif _is_torch_device(dev):
            if self.engine != "torch":
                raise ValueError(
                    f"with engine {self.engine}, device names a PennyLane device (default.qubit, "
                    f"lightning.qubit, lightning.gpu, default.mixed), got {dev!r}; the torch "
                    "layers' device is torch_device"
                )
            if tdev is not None and tdev != dev:
                raise ValueError(
                    f"device {dev!r} and torch_device {tdev!r} disagree (with engine torch both "
                    "name the torch device)"
                )
            dev, tdev = _PL_DEFAULT, dev
        if tdev is None:
            tdev = "auto" if self.engine == "pennylane" and dev == "lightning.gpu" else "cpu"
        object.__setattr__(self, "device", dev)
        object.__setattr__(self, "torch_device", tdev)

    def _use_circuit(self) -> None:
        """Resolve ``circuit`` into its family (:func:`bpdiag.frontends.attach_family`):
        ``ansatz`` becomes its label; a fixed circuit takes its own size when ``qubits`` and
        ``layers`` are the defaults, any other size is refused (one line)."""
        from bpdiag.frontends import attach_family

        if self.reupload:
            raise ValueError(
                "--reupload is for the built-in ansatze; re-upload inside your circuit and name "
                "its data inputs with --data-params"
            )
        attach_family(self)

    def user_circuit(self):
        """The user's circuit at ``(qubits, layers)`` (a :class:`bpdiag.circuits.Circuit`), or
        None when the built-in ``ansatz`` is used."""
        if self.circuit is None:
            return None
        return self._family(self.qubits, self.layers)

    def __reduce__(self):
        """Pickled as its fields (to worker processes): a circuit family, which may hold
        closures, is resolved again from its spec on arrival."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return (_rebuild_config, (fields,))

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain values; ``circuit``/``data_params`` only when a circuit is given
        (so a built-in run's records are unchanged), the circuit as its label."""
        if self.circuit is None:
            d = dataclasses.asdict(self)
            d.pop("circuit")
            d.pop("data_params")
            return d
        plain = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        plain["circuit"] = self._family.label
        data = self.data_params
        plain["data_params"] = ",".join(data) if isinstance(data, tuple) else data
        return plain


def _rebuild_config(fields: dict) -> TrainConfig:
    return TrainConfig(**fields)


def _is_torch_device(name) -> bool:
    return isinstance(name, str) and (
        name in TORCH_DEVICES or re.fullmatch(r"cuda:\d+", name) is not None
    )


def resolve_torch_device(name: str, *, fallback: bool = False) -> str:
    """Check that torch device ``name`` (``cpu``, ``cuda``, ``cuda:N`` or ``auto``) exists here
    and return it; if it does not, raise ``ValueError`` (one line), or with ``fallback`` warn and
    return ``cpu``. ``auto`` is always available (CUDA when present, else the CPU)."""
    if not _is_torch_device(name):
        raise ValueError(f"torch device must be cpu, cuda, cuda:N or auto, got {name!r}")
    if name in ("cpu", "auto"):
        return name
    index = int(name.split(":")[1]) if ":" in name else 0
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if index < count:
        return name
    reason = "no CUDA device" if count == 0 else f"{count} CUDA device(s)"
    msg = f"torch device {name!r} is not available here ({reason})"
    if not fallback:
        raise ValueError(msg + "; use --fallback to run on cpu")
    warnings.warn(msg + "; falling back to cpu", stacklevel=2)
    return "cpu"
