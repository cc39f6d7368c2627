"""The ``flowzip`` click group: ``--debug`` anywhere, every error one line on stderr, one BLAS
thread per process; each command lives in a module of its own, imported when the command is
(``flowzip --version`` and ``--help`` import none, nor numba)."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

import click

from ..version import __version__

# name: (module, the start of its help, which ``flowzip --help`` lists without importing it)
COMMANDS = {
    "bench": ("bench", "Compare flowzip with lossless codecs on PATHS"),
    "cluster": ("cluster", "Compress a large collection on a Dask cluster"),
    "compress": ("compress", "Compress IMAGES to .fz files (the inputs are kept)"),
    "decompress": ("decompress", "Restore the exact pixels of .fz FILES"),
    "export": ("train", "Export a training CHECKPOINT's EMA weights as a model"),
    "info": ("info", "Print the header of each .fz FILE"),
    "list": ("info", "List the images of .fz FILES"),
    "models": ("models", "List the installed models"),
    "train": ("train", "Train the model a JSON CONFIG describes"),
}

SIGPIPE_EXIT = 141  # what a shell reports for a process ended by a closed pipe


class _Group(click.Group):
    """Accepts ``--debug`` anywhere on the line, turns any error into one line on stderr and exit
    status 1 (a traceback with --debug), and exits quietly when its output pipe is closed. Its
    commands (``COMMANDS``) are imported when asked for."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f".{COMMANDS[name][0]}", __package__)
        return next(command for command in module.COMMANDS if command.name == name)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in sorted(COMMANDS.items())])

    def parse_args(self, ctx, args):
        if "--debug" in args[: args.index("--") if "--" in args else len(args)]:
            args = [a for a in args if a != "--debug"]
            ctx.meta["flowzip.debug"] = True
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        main_thread = threading.current_thread() is threading.main_thread()
        before = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(SIGPIPE_EXIT)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: outputs being written were removed
            click.echo("flowzip: interrupted", err=True)
            sys.exit(143 if isinstance(e, _Terminated) else 130)
        except Exception as e:  # noqa: BLE001 - the one place every error becomes a message
            if ctx.meta.get("flowzip.debug"):
                raise
            from .common import message

            click.echo(f"flowzip: error: {message(e)}", err=True)
            sys.exit(1)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, before)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


def _terminated(signum, frame):
    raise _Terminated


def _silence_stdout() -> None:
    """After a closed pipe: send what is still buffered nowhere, so that exiting stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flowzip")
@click.option("--debug", is_flag=True, help="Show full tracebacks (accepted anywhere on the line).")
@click.pass_context
def main(ctx, debug):
    """Lossless image compression with normalizing flows."""
    if debug:
        ctx.meta["flowzip.debug"] = True
    _one_thread_per_process(ctx)


def _one_thread_per_process(ctx) -> None:
    """One BLAS thread per process: flowzip uses several cores through worker processes, and idle
    BLAS threads that spin-wait beside them only slow a shared machine down."""
    from threadpoolctl import threadpool_limits

    ctx.call_on_close(threadpool_limits(limits=1).restore_original_limits)


if __name__ == "__main__":
    main()
