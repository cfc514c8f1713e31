"""The `linr` console script: Ctrl-C during start-up ends like Ctrl-C anywhere else.

The command's modules (click, numpy, the codec) take a moment to import. A
KeyboardInterrupt raised there would print a traceback, or be cleared by C code
inside an import and lost; so the script's first import is this small module, a
Ctrl-C while the command imports only sets interrupt's flag, and the command
(cli.main) acts on it once its own handler is in place.
"""
import sys


def main(argv=None) -> int:
    from . import interrupt                 # light: the package imports no numpy
    try:
        interrupt.noted()
    except (ValueError, OSError):           # not the main thread: Python's own handling
        pass
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        try:
            sys.stderr.write("linr: interrupted\n")
        except (OSError, ValueError):
            pass
        return 130
    return command(argv)


if __name__ == "__main__":
    sys.exit(main())
