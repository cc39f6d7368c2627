"""The command line as a whole (``flowzip.cli.main``): bad input is one line naming the file and a
non-zero exit, --debug shows the traceback, a closed pipe exits quietly."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flowzip.cli import main as cli
from flowzip.cli.main import main

from helpers import DATA, compressed_archive, one_error_line


@pytest.mark.parametrize("args, expected", [
    (["compress", "missing.png"], "No such file"),
    (["decompress", "missing.fz"], "missing.fz"),
    (["compress", "-f", "--model", "nope", "IMAGE"], "unknown model"),
    (["decompress", "NOTFZ"], "not a flowzip file"),
    (["decompress", "FZ", "-o", "out.jpg"], "lossless format"),
    (["info", "NOTFZ"], "not a flowzip file"),
])
def test_bad_input_gives_one_line(runner, tiny_models, image_path, tmp_path, args, expected):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    subs = {"IMAGE": str(image_path), "NOTFZ": str(image_path), "FZ": str(fz),
            "out.jpg": str(tmp_path / "out.jpg"), "missing.png": str(tmp_path / "missing.png"),
            "missing.fz": str(tmp_path / "missing.fz")}
    line = one_error_line(runner.invoke(main, [subs.get(a, a) for a in args]))
    assert expected in line
    assert not (tmp_path / "out.jpg").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(runner, tiny_models, tmp_path, where):
    """--debug lets the error itself out (its traceback), before or after the subcommand; without it
    the command exits with one line."""
    args = ["info", str(tmp_path / "nothing.fz")]
    result = runner.invoke(main, ["--debug", *args] if where == "before" else [*args, "--debug"])
    assert isinstance(result.exception, FileNotFoundError)
    assert isinstance(runner.invoke(main, args).exception, SystemExit)


def test_errors_name_the_file_and_show_no_object(runner, tiny_models, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not an image")
    line = one_error_line(runner.invoke(main, ["compress", str(bad)]))
    assert str(bad) in line and "<_io" not in line and " at 0x" not in line and "<bytes>" not in line
    fz = tmp_path / "bad.fz"
    fz.write_bytes(b"FLZ\x01" + bytes(40))
    line = one_error_line(runner.invoke(main, ["decompress", str(fz)]))
    assert line.startswith(f"flowzip: error: {fz}: ")
    archive, _ = compressed_archive(runner, tmp_path)
    archive.write_bytes(archive.read_bytes()[:-3])
    line = one_error_line(runner.invoke(main, ["decompress", str(archive), "-o", str(tmp_path / "out")]))
    assert line.startswith(f"flowzip: error: {archive}: ") and "truncated" in line


def test_a_closed_pipe_exits_quietly(tiny_models, image_path, tmp_path):
    import subprocess
    import sys

    assert CliRunner().invoke(main, ["compress", str(image_path)]).exit_code == 0
    fz = str(tmp_path / "photo.fz")
    proc = subprocess.Popen([sys.executable, "-m", "flowzip.cli", "info", *[fz] * 2000],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    stderr = proc.stderr.read().decode()
    assert proc.wait() == cli.SIGPIPE_EXIT and stderr == ""


def test_commands_are_imported_when_used():
    """Every command is found by its name in its module, and its help starts as ``flowzip --help``
    says; ``flowzip --version``, ``flowzip --help`` and ``import flowzip`` import no command, numba
    or the coders."""
    import importlib

    modules = {module for module, _ in cli.COMMANDS.values()}
    for name, (module, summary) in cli.COMMANDS.items():
        command = main.get_command(None, name)
        assert command in importlib.import_module(f"flowzip.cli.{module}").COMMANDS
        assert " ".join(command.help.split()).startswith(summary)
    assert {c.name for m in modules for c in importlib.import_module(f"flowzip.cli.{m}").COMMANDS} == set(cli.COMMANDS)
    probe = ("import sys, flowzip, flowzip.cli.main as m; from click.testing import CliRunner; "
             "out = [CliRunner().invoke(m.main, [a]) for a in ('--version', '--help')]; "
             "assert all(r.exit_code == 0 for r in out) and 'decompress' in out[1].output; "
             "print(sorted(k for k in ('numba', 'flowzip.api', 'flowzip.cli.compress') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["thumb-compact.fz", "thumb-sealed.fz", "thumb-numbered.fz", "archive-sealed.fz"])
def test_reading_headers_loads_no_coder(tmp_path, name):
    """``flowzip info``, ``list`` and ``models`` read headers and cards only: numba (about half a
    second to import) and the coders are not loaded."""
    fz = DATA / "flowzip-0.3" / name
    probe = ("import sys, flowzip.cli.main as m; from click.testing import CliRunner; "
             f"out = [CliRunner().invoke(m.main, a) for a in (['info', {str(fz)!r}], ['list', {str(fz)!r}], ['models'])]; "
             "assert all(r.exit_code == 0 for r in out), [r.output for r in out]; "
             "print(sorted(k for k in ('numba', 'torch', 'flowzip.api', 'flowzip.classical.planes') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_info_says_a_sealed_files_crc_is_in_its_stream():
    result = CliRunner().invoke(main, ["info", "--json", str(DATA / "flowzip-0.3" / "thumb-sealed.fz")])
    assert result.exit_code == 0, result.output
    (fields,) = json.loads(result.output)
    assert (fields["format_version"], fields["layout"], fields["header_bytes"]) == (5, "compact, sealed", 12)
    assert fields["entries"][0]["pixel_crc32"] == "sealed in the stream"


def test_info_says_sealed_chunks_hold_the_crcs():
    result = CliRunner().invoke(main, ["info", "--json", str(DATA / "flowzip-0.3" / "archive-sealed.fz")])
    assert result.exit_code == 0, result.output
    (fields,) = json.loads(result.output)
    assert (fields["format_version"], fields["layout"], fields["chunks"]) == (7, "chunked, sealed", 4)
    assert {e["pixel_crc32"] for e in fields["entries"]} == {"sealed in the stream"}
