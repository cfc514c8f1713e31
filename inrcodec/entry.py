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


def run() -> None:
    """The console script and `python -m inrcodec`: the command, then the process ends without
    the interpreter's teardown of every module and object (30 ms of a small decode here, about
    0.1 s of a Kodak encode): the streams are flushed and the exit handlers run first (pools,
    temporary files), and while a non-daemon thread still runs the ordinary exit waits for it."""
    import os

    from .threads import one_blas_thread_for_the_command
    one_blas_thread_for_the_command(os.environ)
    code = main()
    import threading
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    try:
        import atexit
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BaseException:      # a stream that cannot be flushed (a closed pipe), Ctrl-C here:
        sys.exit(code)         # the ordinary exit, which reports it as Python does
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    run()
