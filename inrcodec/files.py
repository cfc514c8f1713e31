"""Safe file I/O: bounded reads, atomic writes, and the rules on what may be read or replaced.

Reading. Only regular files are read (a FIFO, a device such as /dev/zero or a directory is
refused before a byte is read), except the path "-" given as a str, which is stdin. Sizes are
checked before reading (limits.MAX_INPUT_BYTES); a .linr file's signature is checked before
the rest is read.

Writing. Outputs are written to a short-named temporary file in the destination folder, then
renamed, so no partial file is ever left and long names work. New files get the umask's
permissions; with force, an existing file keeps its mode. A destination that is a symlink is
written through: its target is replaced and the link kept. The output is never the input file
(same path or same inode), even with force. The path "-" (a str) is stdout.

Every failure is a LinrError (FileError, LimitError, FormatError), never an OSError.
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
import sys

from .container import SIGNATURE as LINR_SIGNATURE
from .errors import FileError, FormatError, LimitError
from .limits import MAX_INPUT_BYTES

STDIO = "-"


def is_stdio(path) -> bool:
    return isinstance(path, str) and path == STDIO


def fspath(path) -> str:
    """A str path, or FileError for anything that is not a path."""
    if isinstance(path, (str, bytes, os.PathLike)):
        try:
            p = os.fspath(path)
        except TypeError:
            raise FileError(f"not a file path: {type(path).__name__}") from None
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if isinstance(p, str) and p and "\x00" not in p:
            return p
    raise FileError(f"not a file path: {type(path).__name__} {path!r:.40}")


_ERRNO_WORDS = {errno.ENOENT: "no such file", errno.EISDIR: "is a directory",
                errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                errno.ENAMETOOLONG: "file name too long",
                errno.ENOTDIR: "a folder in the path is not a folder",
                errno.ENOSPC: "no space left on device", errno.EROFS: "read-only file system",
                errno.ELOOP: "too many levels of symbolic links"}


def _os_error(exc: OSError) -> FileError:
    return FileError(_ERRNO_WORDS.get(exc.errno) or exc.strerror or type(exc).__name__)


# -- bounded reading -------------------------------------------------------------

def _open_regular(path: str):
    """Open path for reading without blocking; refuse anything but a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise FileError(f"not a regular file ({kind}); use - to read stdin")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_capped(f, cap: int, what: str) -> bytes:
    chunks, total = [], 0
    while True:
        block = f.read(min(1 << 20, cap + 1 - total))
        if not block:
            break
        chunks.append(block)
        total += len(block)
        if total > cap:
            raise LimitError(f"{what} is larger than {cap} bytes")
    return b"".join(chunks)


def read_bytes(path, cap: int = MAX_INPUT_BYTES, what: str = "file", signature: bytes = b"",
               bad_signature: str = "") -> bytes:
    """Read a whole regular file (or stdin for "-"), at most cap bytes.

    With signature, its first bytes are checked before the rest is read.
    """
    if is_stdio(path):
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise FileError("stdin is not available")
        head = stream.read(len(signature)) if signature else b""
        if signature and head != signature:
            raise FormatError(bad_signature or "bad signature")
        try:
            return head + _read_capped(stream, cap - len(head), what)
        except OSError as exc:
            raise _os_error(exc) from None
    path = fspath(path)
    f, size = _open_regular(path)
    with f:
        if size > cap:
            raise LimitError(f"{what} of {size} bytes is larger than the {cap} bytes linr reads")
        try:
            head = f.read(len(signature)) if signature else b""
            if signature and head != signature:
                raise FormatError(bad_signature or "bad signature")
            return head + _read_capped(f, cap - len(head), what)
        except OSError as exc:
            raise _os_error(exc) from None


def read_linr_file(path) -> bytes:
    """The bytes of a .linr file: regular file or stdin, signature checked first."""
    return read_bytes(path, MAX_INPUT_BYTES, ".linr file", LINR_SIGNATURE,
                      "not a .linr file (bad signature)")


# -- atomic writing ----------------------------------------------------------------

def _dest(path: str) -> str:
    """The file that a write to path replaces: a symlink is written through."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_output(path, force: bool = False, inputs=()) -> None:
    """Refuse an output path before any work: exists, is an input, bad folder, name too long."""
    if is_stdio(path):
        return
    path = fspath(path)
    dest = _dest(path)
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _os_error(exc) from None
    # what --force would still refuse is said first, so that --force is never suggested in vain
    for src in inputs:
        if is_stdio(src):
            continue
        try:
            s = fspath(src)
        except FileError:
            continue
        same = os.path.abspath(dest) == os.path.abspath(_dest(s))
        if not same and st is not None:
            try:
                same = os.path.samefile(dest, s)
            except OSError:
                same = False
        if same:
            raise FileError("output is the input file; refusing to overwrite it")
    if st is not None or os.path.lexists(path):
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise FileError("output is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise FileError("output is not a regular file (use - for stdout)")
        if not force:
            raise FileError("output exists (use --force to overwrite)")
    folder = os.path.dirname(dest) or "."
    if not os.path.isdir(folder):
        raise FileError("output folder does not exist")
    name = os.path.basename(dest)
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    if len(os.fsencode(name)) > name_max:
        raise FileError(f"file name too long ({len(os.fsencode(name))} bytes; at most {name_max})")


def write_bytes(path, data: bytes, force: bool = False, inputs=()) -> None:
    """Write data atomically (temporary file + rename); "-" is stdout.

    Refuses to overwrite unless force, and never overwrites an input file.
    """
    if is_stdio(path):
        out = getattr(sys.stdout, "buffer", None)
        if out is None:
            raise FileError("stdout is not available")
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError:
            raise FileError("broken pipe (stdout closed)") from None
        except OSError as exc:
            raise _os_error(exc) from None
        return
    check_output(path, force, inputs)
    path = fspath(path)
    dest = _dest(path)
    folder = os.path.dirname(dest) or "."
    try:
        old_mode = stat.S_IMODE(os.stat(dest).st_mode)
    except OSError:
        old_mode = None
    tmp = None
    try:
        for _ in range(100):
            tmp = os.path.join(folder, f".linr-{secrets.token_hex(4)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                             | getattr(os, "O_CLOEXEC", 0), 0o666)
                break
            except FileExistsError:
                tmp = None
                continue
        else:
            raise FileError("cannot create a temporary file in the output folder")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        if not force and os.path.lexists(path):
            raise FileError("output exists (use --force to overwrite)")
        os.replace(tmp, dest)
        tmp = None
    except OSError as exc:
        raise _os_error(exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
