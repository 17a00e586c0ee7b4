"""``bpdiag train``: train the hybrid regressor (or a classical twin) and compare it with the
Black–Scholes and gradient-boosted-tree baselines. A thin layer over :func:`bpdiag.train.fit`."""

from __future__ import annotations

import click

from bpdiag.circuits import ANSATZE
from bpdiag.cli._common import (
    _echo_table,
    _resolve_device,
    circuit_options,
    claims_out,
    fallback_option,
    index_options,
    library_errors,
    out_option,
    progress,
    seed_option,
)


@click.command("train")
@click.option(
    "--data",
    default="synthetic",
    show_default=True,
    help="'synthetic' (bundled) or a path to an option file or folder",
)
@index_options
@click.option("--qubits", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--layers", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--ansatz", type=click.Choice(ANSATZE), default="original", show_default=True)
@click.option("--reupload", is_flag=True, help="repeat the RY(x) encoding before every layer")
@circuit_options(
    "; the quantum layer: RY(x_i) encoding first unless --data-params names its inputs"
)
@click.option(
    "--subset",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="rows drawn before the 60/20/20 split; 0 = all rows",
)
@click.option("--split", type=click.Choice(["random", "time"]), default="random", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@seed_option
@click.option(
    "--engine", type=click.Choice(["torch", "pennylane"]), default="torch", show_default=True
)
@click.option(
    "--device",
    default=None,
    help="torch engine: the torch device, cpu (default), cuda, cuda:N or auto (mixed precision "
    "on cuda); pennylane engine: the PennyLane device, default.qubit (default), lightning.qubit, "
    "lightning.gpu (torch layers on cuda where present), default.mixed",
)
@fallback_option
@click.option(
    "--twin",
    type=click.Choice(["identity", "matched"]),
    default=None,
    help="train a classical twin instead of the hybrid",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-2,
    show_default=True,
    help="learning rate of the classical layers",
)
@click.option(
    "--lr-quantum",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-2,
    show_default=True,
    help="learning rate of the quantum (or twin middle) layer",
)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=1e-4, show_default=True)
@click.option(
    "--weight-decay-quantum", type=click.FloatRange(min=0), default=0.0, show_default=True
)
@click.option("--hidden", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="early stopping: epochs without a better validation loss (0 = off)",
)
@click.option("--plateau-patience", type=click.IntRange(min=0), default=3, show_default=True)
@click.option(
    "--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True
)
@click.option(
    "--torch-device",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default=None,
    help="where the torch layers run (the torch engine's --device, kept as an alias; with "
    "--engine pennylane: default cuda for lightning.gpu when present, else cpu); mixed "
    "precision on cuda only",
)
@click.option("--no-amp", is_flag=True, help="no mixed precision on cuda")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--no-baselines", is_flag=True, help="skip the Black–Scholes and tree baselines")
@out_option("results/train")
@click.option("--resume", is_flag=True, help="continue from OUT/checkpoint_last.pt")
@library_errors
@claims_out
def train(subset, engine, device, torch_device, fallback, no_amp, no_baselines, **options):
    """Train the hybrid option-pricing regressor; report test metrics in the data's currency."""
    from bpdiag.results.train import TrainWriter, write_train
    from bpdiag.train import TrainConfig, fit

    device, torch_device = _resolve_devices(engine, device, torch_device, fallback)
    config = TrainConfig(  # every other option is named like its TrainConfig field
        subset=subset or None,
        engine=engine,
        device=device,
        torch_device=torch_device,
        amp=not no_amp,
        baselines=not no_baselines,
        progress=progress(),
        **options,
    )
    res = fit(config, checkpoint=TrainWriter(config.out, resume=config.resume))
    write_train(res, config.out, plots=config.plots)
    _report(res, config.out)


def _report(res, out: str) -> None:
    """The test metrics table and a few lines on the run."""
    s = res.summary
    table = res.metrics.set_index("model")[["n", "rmse", "mae", "mape", "r2", "mse_scaled"]]
    table.index = [s["model"] if m == "model" else m for m in table.index]
    _echo_table(
        table.round(4),
        f"Test metrics (rmse, mae in {res.meta['units']['rmse']}; mape in %), {s['ansatz']} "
        f"n={s['n_qubits']} L={s['n_layers']}, {s['n_train']} training rows",
    )
    click.echo(
        f"\nepochs run {s['epochs_run']}, best epoch {s['best_epoch']}, best val loss "
        f"{s['best_val_loss']:.4g}; quantum-gradient variance (mean over epochs) "
        f"{s['qgrad_var_mean']:.3g}; {s['wall_s']:.1f} s"
    )
    click.echo(f"wrote {out}/summary.csv, history.csv, predictions.csv, metrics.csv, history.png")


def _resolve_devices(engine: str, device, torch_device, fallback: bool) -> tuple:
    """``(device, torch_device)`` for :class:`bpdiag.train.TrainConfig`, each checked to exist
    here: a missing one is a one-line error, or with ``fallback`` a warning on stderr and
    default.qubit (PennyLane) or cpu (torch). With the torch engine ``--device`` names the torch
    device (``--torch-device`` is its alias); with the pennylane engine, the PennyLane device."""
    from bpdiag.train import TrainConfig, _is_torch_device, resolve_torch_device

    if engine == "torch":
        if device is not None and torch_device is not None and device != torch_device:
            raise click.UsageError(
                f"--device {device} and --torch-device {torch_device} disagree (with --engine "
                "torch both name the torch device)"
            )
        name = device if device is not None else (torch_device or "cpu")
        if not _is_torch_device(name):
            raise click.UsageError(
                f"with --engine torch, --device names a torch device (cpu, cuda, cuda:N, auto), "
                f"got {name!r}; PennyLane devices need --engine pennylane"
            )
        return None, _warned(resolve_torch_device, name, fallback)
    try:  # the combination first (one line), then whether the devices exist here
        cfg = TrainConfig(engine=engine, device=device, torch_device=torch_device)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    device = _resolve_device(engine, cfg.device, fallback)
    if torch_device is None:  # lightning.gpu puts the torch layers on CUDA where present
        torch_device = TrainConfig(engine=engine, device=device).torch_device
    return device, _warned(resolve_torch_device, torch_device, fallback)


def _warned(resolve, name: str, fallback: bool) -> str:
    """``resolve(name, fallback=fallback)``, its warnings echoed to stderr in one line each."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = resolve(name, fallback=fallback)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    return out
