"""The ``bpdiag`` command line: a thin click layer over the library.

One module per command under :mod:`bpdiag.cli`; the group loads a command's module only when that
command runs (so ``bpdiag --help`` imports neither JAX nor torch). Each command parses its options,
calls one library function and hands the result to :mod:`bpdiag.results`. Bad input (by
exception class, :data:`bpdiag.cli._common.INPUT_ERRORS`) becomes a click usage error (exit
code 2, one line, no traceback); every float option refuses inf and nan. Nothing in the
package imports this.
"""

from __future__ import annotations

import importlib

import click

from bpdiag.cli._common import INPUT_ERRORS, finite_floats, usage_error
from bpdiag.cli._interrupt import InterruptibleGroup

#: command name -> "module:attribute"
COMMANDS = {
    "variance": "bpdiag.cli.variance:variance",
    "entropy": "bpdiag.cli.entropy:entropy",
    "lie": "bpdiag.cli.lie:lie",
    "diagnose": "bpdiag.cli.diagnose:diagnose",
    "train": "bpdiag.cli.train:train",
    "study": "bpdiag.cli.study:study",
    "data": "bpdiag.cli.data:data",
    "figures": "bpdiag.cli.figures:figures",
    "reproduce": "bpdiag.cli.figures:reproduce",
}


class LazyGroup(InterruptibleGroup):
    """A group whose commands are imported on first use from :data:`COMMANDS`."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return finite_floats(getattr(importlib.import_module(module), attr))

    def invoke(self, ctx):
        """Run the command; whatever bad input escapes it (:data:`INPUT_ERRORS`, by class) is
        one line and exit code 2, never a traceback. Other exceptions are bugs and raise."""
        try:
            return super().invoke(ctx)
        except INPUT_ERRORS as exc:
            raise usage_error(exc) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bpdiag")
def main() -> None:
    """bpdiag: can this parameterized quantum circuit be trained, and if not, why not?"""
