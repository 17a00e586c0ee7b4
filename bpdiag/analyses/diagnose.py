"""One verdict on whether a circuit can be trained, and why: the checks of every analysis, run at
sizes that fit a time budget, read by one set of written rules.

:func:`diagnose` runs, in this order (later checks are skipped, and say so, once ``budget``
seconds are spent):

1. ``audit`` - the Lie audit (:func:`bpdiag.analyses.lie.lie`) at one size: dead and redundant
   parameters with their reasons, the dynamical Lie algebra, the Ragone et al. prediction;
2. ``params`` - the per-parameter variance map (``param="all"``) at one size;
3. ``scaling`` - Var[dC/dtheta] against qubits and depth (sampled, and exact where the exact
   method applies), with the 2-design value and the shots a gradient needs;
4. ``noise`` - the same variance under one noise strength, at the smaller sizes;
5. ``entropy`` - for circuits with data inputs (the ``original`` study circuit, or ``circuit``
   with ``data_params``): the entanglement entropy of data-encoded states against the Page curve.

:func:`verdict` turns the section tables into sentences. Its rules, the only place they live:

* **structural zero** - rows whose variance is below ``ZERO_FACTOR`` x the 2-design value (the
  differentiated parameter is dead there) are named and left out of every rule below.
* **dead** - parameters the audit proves dead are listed with the audit's reason (or "no
  parameter is dead"); if every parameter is dead the circuit cannot be trained at all.
* **plateau** - for each cost, at the largest n and the deepest L: ``Var <= PLATEAU_FACTOR`` x
  the 2-design value means the circuit has reached the random-circuit (barren-plateau) level;
  the sentence gives the fitted decay ``Var ~ 2^(-b n)`` at that depth.
* **trainable** - ``Var >= TRAINABLE_FACTOR`` x the 2-design value at the largest n: trainable at
  ``n <= n_max`` up to the deepest such depth; anything between is reported as "approaching".
* **algebra** - a DLA of dimension ``<= n^3`` at the audited n is polynomial (deep circuits
  keep a variance that falls only polynomially, Ragone et al. 2024); ``su(2^n)`` is the full
  algebra (deep circuits reach the 2-design value).
* **design depth** - the smallest depth whose variance is within ``PLATEAU_FACTOR`` of the
  2-design value at the largest n.
* **shots** - shots per circuit for the gradient's standard deviation to exceed the shot
  noise, at the largest n and the shallowest depth.
* **noise** - the variance ratio noisy / noiseless at the deepest noisy point.
* **entanglement** - the half-cut entropy of data-encoded states over the Page value at the
  largest n: ``>= VOLUME_LAW`` is volume-law, ``< FAR_FROM_VOLUME`` far from it.

Returns a :class:`~bpdiag.analyses._common.Result` whose ``.tables`` hold each section's table
(``audit``, ``audit_params``, ``params``, ``scaling``, ``noise``), ``.table`` the verdict
sentences (``rule, cost, text``) and ``.meta`` the config, the commands that reproduce each
section, timings and skipped sections.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from bpdiag.analyses._common import ZERO_FACTOR, Result, haar_variance, structural_zero

PLATEAU_FACTOR = 3.0
TRAINABLE_FACTOR = 10.0
SECTIONS = ("audit", "params", "scaling", "noise", "entropy")
#: Volume fractions S / S_Page of the half cut read as volume law (above) or far from it (below).
VOLUME_LAW, FAR_FROM_VOLUME = 0.9, 0.5


@dataclass(frozen=True)
class DiagnoseConfig:
    """What to diagnose and at what sizes. ``circuit`` (a spec string, callable or circuit
    object, see :mod:`bpdiag.frontends`) replaces ``ansatz``; a fixed circuit runs at its own
    size. ``budget``: seconds after which remaining sections are skipped."""

    ansatz: str = "dense"
    cost: tuple[str, ...] = ("local",)
    qubits: tuple[int, ...] = (2, 4, 6, 8)
    layers: tuple[int, ...] = (1, 2, 5, 10, 20)
    samples: int = 200
    audit_qubits: int = 4
    noise: str = "depolarizing:0.01"
    shots: int = 1000
    budget: float = 60.0
    seed: int = 0
    circuit: object = field(default=None, compare=False)
    data_params: object = None

    def __post_init__(self) -> None:
        if not self.qubits or not self.layers:
            raise ValueError("diagnose needs at least one qubit count and one depth")
        if self.samples < 2:
            raise ValueError(f"samples must be >= 2, got {self.samples}")
        if self.budget <= 0:
            raise ValueError(f"budget must be > 0 seconds, got {self.budget}")
        if isinstance(self.cost, str):
            object.__setattr__(self, "cost", (self.cost,))


def _label(config: DiagnoseConfig) -> str:
    if config.circuit is None:
        return config.ansatz
    return (
        config.circuit
        if isinstance(config.circuit, str)
        else getattr(config.circuit, "__name__", type(config.circuit).__name__)
    )


def _sizes(config: DiagnoseConfig) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
    """(qubits, layers, fixed): a fixed circuit runs at its own size only."""
    if config.circuit is None:
        return tuple(config.qubits), tuple(config.layers), False
    from bpdiag.frontends import circuit_family, fixed_size

    family = circuit_family(config.circuit, data_params=config.data_params, seed=config.seed)
    if family.fixed is None:
        return tuple(config.qubits), tuple(config.layers), False
    n, L = fixed_size(family.fixed)
    return (n,), (L,), True


def _common(config: DiagnoseConfig) -> dict:
    if config.circuit is None:
        return {"ansatz": (config.ansatz,)}
    return {"circuit": config.circuit, "data_params": config.data_params}


def _command(config: DiagnoseConfig, what: str, **flags) -> str:
    src = f"--ansatz {config.ansatz}" if config.circuit is None else f"--circuit {_label(config)}"
    parts = [f"bpdiag {what}", src, f"--cost {','.join(config.cost)}"]
    parts += [f"--{k.replace('_', '-')} {v}" for k, v in flags.items()]
    return " ".join(parts + [f"--seed {config.seed}"])


def _with_zero(noise: str) -> str:
    """``"depolarizing:0.01"`` -> ``"depolarizing:0,0.01"`` (the noiseless reference too)."""
    kind, _, strength = noise.partition(":")
    if not strength:
        raise ValueError(f"noise must look like depolarizing:0.01, got {noise!r}")
    return f"{kind}:0,{strength}"


def _span(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values)


def _run_sections(config: DiagnoseConfig, progress: bool) -> tuple[dict, dict]:
    """Run the sections in order until the budget is spent: (tables, meta)."""
    from bpdiag.analyses import lie as la
    from bpdiag.analyses import variance as va

    qubits, layers, fixed = _sizes(config)
    common = _common(config)
    n_audit = qubits[0] if fixed else min(max(qubits), config.audit_qubits)
    L_audit = layers[0] if fixed else min(layers, key=lambda L: abs(L - 2))
    n_map = qubits[0] if fixed else min(max(qubits), 6)
    L_map = layers[0] if fixed else min(layers, key=lambda L: abs(L - 2))
    small = tuple(n for n in qubits if n <= 4) or qubits[:1]
    tables: dict[str, pd.DataFrame] = {}
    meta = {"timing": {}, "skipped": {}, "commands": {}, "notes": []}
    t_start = time.perf_counter()

    def run(name: str, command: str, fn) -> None:
        if meta["timing"] and time.perf_counter() - t_start > config.budget:  # the first runs
            meta["skipped"][name] = f"time budget of {config.budget:g} s spent"
            return
        t0 = time.perf_counter()
        try:
            fn()
        except ValueError as exc:  # a check that does not apply to this circuit
            meta["skipped"][name] = str(exc).splitlines()[0]
        meta["timing"][name] = time.perf_counter() - t0
        meta["commands"][name] = command

    def audit() -> None:
        res = la.lie(
            qubits=(n_audit,), layers=(L_audit,), cost=config.cost, deep_layers=max(layers),
            samples=config.samples, seed=config.seed, **common,
        )  # fmt: skip
        tables["audit"] = res.table
        tables["audit_params"] = res.tables["params"]

    def params() -> None:
        res = va.variance(
            qubits=(n_map,), layers=(L_map,), cost=config.cost, samples=config.samples,
            param="all", seed=config.seed, **common,
        )  # fmt: skip
        tables["params"] = res.tables["params"]

    def scaling() -> None:
        kwargs = dict(
            qubits=qubits, layers=layers, cost=config.cost, samples=config.samples,
            seed=config.seed, shots=config.shots, progress=progress, **common,
        )  # fmt: skip
        try:
            res = va.variance(method=("sample", "exact"), **kwargs)
        except ValueError as exc:
            meta["notes"].append(f"exact method skipped: {str(exc).splitlines()[0]}")
            res = va.variance(method="sample", **kwargs)
        tables["scaling"] = res.table
        meta["fits"] = res.meta["fits"]

    def noise() -> None:
        res = va.variance(
            qubits=small, layers=layers, cost=config.cost, samples=config.samples,
            seed=config.seed, noise=_with_zero(config.noise), **common,
        )  # fmt: skip
        tables["noise"] = res.table
        meta["depth_fits"] = res.meta.get("depth_fits", [])

    def entropy() -> None:
        from bpdiag.analyses.entropy import entropy as run_entropy

        if config.circuit is None and config.ansatz != "original":
            raise ValueError(f"the {config.ansatz} family has no data inputs")
        if config.circuit is not None and config.data_params is None:
            raise ValueError("the circuit has no data inputs (pass data_params)")
        src = {"ansatz": config.ansatz} if config.circuit is None else {"circuit": config.circuit}
        res = run_entropy(
            qubits=tuple(n for n in qubits if n >= 2) or (2,), encoding=("angle",),
            layers=(L_map,), rows=100, seed=config.seed, **src,
        )  # fmt: skip
        tables["entropy"] = res.table

    run("audit", _command(config, "lie", qubits=n_audit, layers=L_audit), audit)
    run("params", _command(config, "variance", qubits=n_map, layers=L_map, param="all"), params)
    run(
        "scaling",
        _command(
            config,
            "variance",
            qubits=_span(qubits),
            layers=_span(layers),
            method="sample,exact",
            shots=config.shots,
        ),  # fmt: skip
        scaling,
    )
    run(
        "noise",
        _command(
            config, "variance", qubits=_span(small), layers=_span(layers), noise=config.noise
        ),  # fmt: skip
        noise,
    )
    ent_flags = {"qubits": _span(qubits), "layers": L_map, "encoding": "angle", "rows": 100}
    cmd = _command(config, "entropy", **ent_flags).replace(f" --cost {','.join(config.cost)}", "")
    run("entropy", cmd, entropy)
    meta["timing"]["total"] = time.perf_counter() - t_start
    return tables, meta


# ---------------------------------------------------------------------------------------------
# The verdict: every rule of the module docstring, and nothing else


def _best(scaling: pd.DataFrame) -> pd.DataFrame:
    """The rows the verdict reads: exact where present, else sampled."""
    if "method" in scaling and (scaling["method"] == "exact").any():
        exact = scaling[scaling["method"] == "exact"]
        keys = ["cost", "n_qubits", "n_layers"]
        rest = scaling[scaling["method"] != "exact"].merge(
            exact[keys], on=keys, how="left", indicator=True
        )
        rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
        return pd.concat([exact, rest], ignore_index=True)
    return scaling


def _dead_rules(audit_params: pd.DataFrame, n_params: int) -> list[dict]:
    dead = audit_params[audit_params["dead"].astype(bool)]
    out = []
    for cost, g in audit_params.groupby("cost", sort=False):
        if not g["dead"].astype(bool).any():
            where = f"(n = {int(g['n_qubits'].iloc[0])}, L = {int(g['n_layers'].iloc[0])})"
            text = f"no parameter is dead for the {cost} cost {where}"
            out.append({"rule": "dead", "cost": cost, "text": text})
    for cost, g in dead.groupby("cost", sort=False):
        ids = sorted(set(g["param"].astype(int)))
        reason = str(g["reason"].iloc[0])
        where = f"(n = {int(g['n_qubits'].iloc[0])}, L = {int(g['n_layers'].iloc[0])})"
        hint = " — replace by a non-diagonal rotation (RY) or drop" if "diagonal" in reason else ""
        if len(ids) >= n_params:
            text = (
                f"every parameter is dead for the {cost} cost {where}: {reason}; the circuit "
                "cannot be trained"
            )
        else:
            shown = ", ".join(map(str, ids[:12])) + (" ..." if len(ids) > 12 else "")
            text = f"parameters {shown} {where} are dead for the {cost} cost: {reason}{hint}"
        out.append({"rule": "dead", "cost": cost, "text": text})
    return out


def _plateau_rules(rows: pd.DataFrame, fits: list[dict]) -> list[dict]:
    out = []
    for cost, g in rows.groupby("cost", sort=False):
        zero = structural_zero(g["var"], g["n_qubits"], cost)
        if zero.any():
            pts = ", ".join(
                f"n = {int(r.n_qubits)}, L = {int(r.n_layers)}" for r in g[zero].itertuples()
            )
            out.append({
                "rule": "structural zero", "cost": cost,
                "text": f"the differentiated parameter is structurally dead at {pts} "
                        f"(Var = 0 for the {cost} cost): left out of the rules below",
            })  # fmt: skip
            g = g[~zero]
        if g.empty:
            continue
        n_max = int(g["n_qubits"].max())
        at_n = g[g["n_qubits"] == n_max].sort_values("n_layers")
        haar = haar_variance(n_max, cost)
        deep = at_n.iloc[-1]
        ratio = float(deep["var"]) / haar
        fit = next(
            (f for f in fits if f["cost"] == cost and f["n_layers"] == int(deep["n_layers"])
             and f.get("noise", "none") == "none"),
            None,
        )  # fmt: skip
        decay = f"Var ∝ 2^(-{fit['b']:.2f} n)" if fit else f"Var = {float(deep['var']):.2e}"
        live = at_n[at_n["var"] >= TRAINABLE_FACTOR * haar]
        if ratio <= PLATEAU_FACTOR:
            text = (
                f"the {cost} cost has a barren plateau at L = {int(deep['n_layers'])}: {decay}, "
                f"at the 2-design value ({ratio:.2g}x) by n = {n_max}"
            )
            rule = "plateau"
        elif len(live) == len(at_n):
            text = (
                f"trainable at n <= {n_max} with the {cost} cost up to L = "
                f"{int(deep['n_layers'])}: Var stays {ratio:.3g}x above the 2-design value "
                f"({decay})"
            )
            rule = "trainable"
        else:
            upto = int(live["n_layers"].max()) if len(live) else None
            where = f"trainable up to L = {upto}, " if upto is not None else ""
            text = (
                f"the {cost} cost is {where}approaching the 2-design value at "
                f"L = {int(deep['n_layers'])} ({ratio:.3g}x at n = {n_max}; {decay})"
            )
            rule = "approaching"
        out.append({"rule": rule, "cost": cost, "text": text})
        reach = at_n[at_n["var"] <= PLATEAU_FACTOR * haar]
        if len(reach):
            out.append({
                "rule": "design depth", "cost": cost,
                "text": f"the {cost} cost reaches the 2-design value at L ≈ "
                        f"{int(reach['n_layers'].min())} for n = {n_max}",
            })  # fmt: skip
        shots = at_n["shots_needed"].dropna() if "shots_needed" in at_n else pd.Series([])
        if len(shots):
            out.append({
                "rule": "shots", "cost": cost,
                "text": f"resolving a typical {cost}-cost gradient at n = {n_max}, "
                        f"L = {int(at_n['n_layers'].iloc[0])} needs ~{float(shots.iloc[0]):.3g} "
                        "shots per circuit",
            })  # fmt: skip
    return out


def _algebra_rules(audit: pd.DataFrame) -> list[dict]:
    out = []
    for _, row in audit.drop_duplicates(["n_qubits", "dla_dim"]).iterrows():
        n, dim, kind = int(row["n_qubits"]), row["dla_dim"], str(row["dla_kind"])
        if not isinstance(dim, (int, float, np.integer, np.floating)) or not dim == dim:
            continue
        if dim <= n**3:
            text = (
                f"polynomial DLA: {kind} of dimension {int(dim)} at n = {n}; deep circuits keep "
                "a variance that falls only polynomially (Ragone et al. 2024)"
            )
        elif dim >= 4**n - 1:
            text = (
                f"the DLA is the full {kind} (dimension {int(dim)} at n = {n}): deep circuits "
                "reach the 2-design variance"
            )
        else:
            text = f"DLA {kind} of dimension {int(dim)} at n = {n} (exponential in n)"
        out.append({"rule": "algebra", "cost": "", "text": text})
    return out


def _noise_rules(noise: pd.DataFrame) -> list[dict]:
    out = []
    for cost, g in noise.groupby("cost", sort=False):
        n = int(g["n_qubits"].max())
        g = g[g["n_qubits"] == n]
        L = int(g["n_layers"].max())
        g = g[g["n_layers"] == L]
        clean = g[g["noise_strength"] == 0]["var"]
        noisy = g[g["noise_strength"] > 0]
        if not len(clean) or not len(noisy) or not float(clean.iloc[0]) > 0:
            continue
        ratio = float(noisy["var"].iloc[0]) / float(clean.iloc[0])
        out.append({
            "rule": "noise", "cost": cost,
            "text": f"{noisy['noise'].iloc[0]} noise {float(noisy['noise_strength'].iloc[0]):g} "
                    f"changes the {cost}-cost variance by {ratio:.3g}x at n = {n}, L = {L}",
        })  # fmt: skip
    return out


def _entropy_rules(ent: pd.DataFrame) -> list[dict]:
    d = ent[(ent["state"] == "data") & (ent["cut"] == "contiguous")]
    if d.empty:
        return []
    n = int(d["n_qubits"].max())
    half = d[(d["n_qubits"] == n) & (d["cut_size"] == n // 2)]
    if half.empty:
        return []
    f = float(half["volume_fraction"].iloc[0])
    if f >= VOLUME_LAW:
        what = "volume-law entangled, like Haar-random states"
    elif f < FAR_FROM_VOLUME:
        what = "far below the Page value (not volume-law)"
    else:
        what = "between area law and the Page value"
    text = f"data-encoded states are {what}: half-cut entropy = {f:.2f} x Page at n = {n}"
    return [{"rule": "entanglement", "cost": "", "text": text}]


def verdict(tables: dict[str, pd.DataFrame], fits: Sequence[dict] = ()) -> pd.DataFrame:
    """The verdict sentences (columns ``rule, cost, text``) from the section tables, by the
    rules of the module docstring; sections that are missing give no sentence."""
    rows: list[dict] = []
    if "audit_params" in tables and "audit" in tables:
        n_params = int(tables["audit"]["n_params"].max())
        rows += _dead_rules(tables["audit_params"], n_params)
    if "scaling" in tables:
        scaling = tables["scaling"]
        rows += _plateau_rules(_best(scaling[scaling["noise"] == "none"]), list(fits))
    if "audit" in tables:
        rows += _algebra_rules(tables["audit"])
    if "noise" in tables:
        rows += _noise_rules(tables["noise"])
    if "entropy" in tables:
        rows += _entropy_rules(tables["entropy"])
    return pd.DataFrame(rows, columns=["rule", "cost", "text"])


def diagnose(
    ansatz: str = "dense",
    cost: str | Sequence[str] = ("local",),
    qubits: Sequence[int] = (2, 4, 6, 8),
    layers: Sequence[int] = (1, 2, 5, 10, 20),
    *,
    samples: int = 200,
    budget: float = 60.0,
    seed: int = 0,
    circuit=None,
    data_params=None,
    progress: bool = False,
    **options,
) -> Result:
    """Diagnose one circuit family (or circuit) for one or more costs: see the module docstring.

    Sizes: ``qubits`` and ``layers`` span the scaling section (a fixed circuit: its own size);
    the audit runs at ``min(max(qubits), audit_qubits)`` qubits and the depth nearest 2.
    ``options``: :class:`DiagnoseConfig` fields (``audit_qubits``, ``noise``, ``shots``).
    """
    from bpdiag.circuits.observables import check_cost

    costs = (cost,) if isinstance(cost, str) else tuple(cost)
    config = DiagnoseConfig(
        ansatz, costs, tuple(qubits), tuple(layers), int(samples), budget=float(budget),
        seed=int(seed), circuit=circuit, data_params=data_params, **options,
    )  # fmt: skip
    for c in costs:
        check_cost(c, max(config.qubits))
    tables, meta = _run_sections(config, progress)
    table = verdict(tables, meta.get("fits", ()))
    if table.empty:
        table = pd.DataFrame(
            [{"rule": "none", "cost": "", "text": "no check could run: see the skipped sections"}]
        )
    cfg = {f.name: getattr(config, f.name) for f in fields(config) if f.name != "circuit"}
    cfg["circuit"] = None if circuit is None else _label(config)
    meta.update(config=cfg, label=_label(config), sections=list(SECTIONS), units={
        "var": "rad^-2 (Var of a derivative of a dimensionless cost)",
    })  # fmt: skip
    meta["zero_factor"] = ZERO_FACTOR
    meta["haar"] = [  # the 2-design reference, records as the variance figures read them
        {"cost": c, "n_qubits": int(n), "var": haar_variance(int(n), c)}
        for c in costs
        for n in config.qubits
    ]
    return Result(table.reset_index(drop=True), meta, tables)
