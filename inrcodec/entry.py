"""The `linr` console script: Ctrl-C during start-up ends like Ctrl-C anywhere else.

The command's modules (click, numpy, the codec) take a moment to import, and a
KeyboardInterrupt raised there would print a traceback; so the script's first
import is this small module, and the command itself is imported inside its try.
"""
import sys


def main(argv=None) -> int:
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
