"""``comprimemelo compress INPUT --format FMT [--level N] [-o OUTPUT]``."""

from __future__ import annotations

import argparse
import os
import sys

from comprimemelo.compression.archive import InputFile, compress
from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.formats import ArchiveFormat
from comprimemelo.compression.names import sanitize_arcname

MIB = 1024 * 1024
DEFAULT_COLUMNS = 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width: left to find it, it imports
    shutil (with bz2 and lzma), 5% of ``comprimemelo compress``'s start-up."""

    def __init__(self, prog: str, **options) -> None:
        options.setdefault("width", _columns() - 2)
        super().__init__(prog, **options)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: $COLUMNS, stdout's terminal, 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or DEFAULT_COLUMNS
    except (AttributeError, ValueError, OSError):
        return DEFAULT_COLUMNS


def add_compress_parser(subparsers) -> argparse.ArgumentParser:
    formats = ", ".join(fmt.value for fmt in ArchiveFormat)
    parser = subparsers.add_parser(
        "compress",
        help="compress one file locally",
        description=f"Compress INPUT into an archive. Formats: {formats}.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="the file to compress")
    parser.add_argument("--format", "-f", required=True, dest="fmt", metavar="FMT", help=formats)
    parser.add_argument("--level", "-l", type=int, help="compression level (default: the format's)")
    parser.add_argument("--output", "-o", help="archive path (default: INPUT + extension)")
    parser.add_argument("--threads", type=int, help="cores to use (default: all)")
    parser.set_defaults(run=run_compress)
    return parser


def run_compress(args: argparse.Namespace) -> int:
    try:
        fmt = ArchiveFormat.parse(args.fmt)
    except CompressionError as error:
        print(f"comprimemelo compress: {error}", file=sys.stderr)
        return 2
    if not os.path.isfile(args.input):
        print(f"comprimemelo compress: no such file: {args.input}", file=sys.stderr)
        return 2
    output = args.output or args.input + fmt.extension  # pathlib would cost start-up
    try:
        result = compress(
            [InputFile(args.input, sanitize_arcname(os.path.basename(args.input)))],
            output,
            fmt,
            args.level,
            threads=args.threads,
        )
    except CompressionError as error:
        print(f"comprimemelo compress: {error}", file=sys.stderr)
        return 2
    speed = result.input_bytes / MIB / result.seconds if result.seconds else 0.0
    print(
        f"{output}: {result.input_bytes} -> {result.output_bytes} bytes "
        f"({result.ratio:.1%}), level {result.level}, {result.seconds:.2f}s, {speed:.1f} MB/s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``compress INPUT --format FMT ...``, with or without the word ``compress``.

    Returns the exit status: 0, or 2 for a bad format, level or input.
    """
    parser = argparse.ArgumentParser(prog="comprimemelo", formatter_class=HelpFormatter)
    add_compress_parser(parser.add_subparsers())
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["compress"]:
        argv.insert(0, "compress")
    args = parser.parse_args(argv)
    return args.run(args)
