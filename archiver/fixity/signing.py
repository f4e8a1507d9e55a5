"""The operator's signature on checkpoints: who captured, beside when.

``archiver config sign --ssh-key FILE`` records the operator's SSH key in
``manifests/signing.json`` (the private key's path, never the key itself, and
its public key) and writes ``manifests/timestamps/allowed_signers``, the file
``ssh-keygen -Y verify`` takes. From then on every evidence-log checkpoint
(``manifests/checkpoints/checkpoint-SIZE.json``: the checkpoint and who
signs it) and every timestamp statement is signed with ``ssh-keygen -Y
sign`` in the namespace ``archiver-checkpoint``, the signature beside it as
``FILE.sig``, so anyone can check it::

    ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n archiver-checkpoint \\
        -s STEM.statement.json.sig < STEM.statement.json

OpenSSH's own tool signs and verifies: no key material passes through
archiver. A key with a passphrase is used through ``ssh-agent`` (give the
public key file as FILE).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write
from ..errors import TimestampError
from ..root import ArchiveRoot

__all__ = [
    "ALLOWED_SIGNERS",
    "NAMESPACE",
    "SIGNING_CONFIG_NAME",
    "Signer",
    "configure_signer",
    "load_signer",
    "sign_checkpoint",
    "sign_file",
    "verify_signature",
]

NAMESPACE = "archiver-checkpoint"
CHECKPOINTS_DIR = "checkpoints"  # in manifests/: the signed checkpoints
SIGNING_CONFIG_NAME = "signing.json"
ALLOWED_SIGNERS = "timestamps/allowed_signers"  # relative to manifests/
_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class Signer:
    """The operator's key: the file ``ssh-keygen -f`` takes, its public key, who it is."""

    key: str
    public_key: str
    principal: str


def _ssh_keygen(*args: str, source: Path | str, stdin: bytes | None = None
                ) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise TimestampError(source, "ssh-keygen not found: install OpenSSH's client "
                             "(Debian: apt-get install openssh-client)")
    # A new session has no controlling terminal: a key that needs a passphrase
    # fails at once instead of prompting in the middle of a capture run.
    return subprocess.run([exe, *args], input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=_TIMEOUT, start_new_session=True)


def _public_key(key: Path) -> str:
    pub = key if key.name.endswith(".pub") else key.with_name(key.name + ".pub")
    try:
        return pub.read_text(encoding="ascii").split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        done = _ssh_keygen("-y", "-f", str(key), source=key)
        if done.returncode != 0:
            raise TimestampError(key, "not an SSH private key ssh-keygen can read without a "
                                 "passphrase; for a key with one, load it into ssh-agent "
                                 "and give its .pub file") from None
        return done.stdout.decode("ascii").strip()


def configure_signer(root: ArchiveRoot, key: Path, principal: str) -> Signer:
    """Sign every checkpoint from now on with ``key`` as ``principal``."""
    key = key.expanduser().resolve()
    if not key.is_file():
        raise TimestampError(key, "no such key file")
    public = _public_key(key)
    if len(public.split()) < 2 or not public.split()[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise TimestampError(key, "its public key is not an OpenSSH public key")
    if not principal or any(c.isspace() for c in principal) or '"' in principal:
        raise TimestampError(key, f"principal {principal!r}: one word, no spaces or quotes")
    signer = Signer(str(key), public, principal)
    with root.writer_lock():
        with atomic_write(root.manifests / SIGNING_CONFIG_NAME) as fh:
            fh.write(json.dumps({"ssh_key": signer.key, "public_key": public,
                                 "principal": principal}, indent=2).encode() + b"\n")
        # Every key ever configured stays allowed: a new key must not orphan
        # the signatures made with the old one.
        allowed = root.manifests / ALLOWED_SIGNERS
        line = f'{principal} namespaces="{NAMESPACE}" {public}\n'.encode()
        try:
            before = allowed.read_bytes()
        except FileNotFoundError:
            before = b""
        if line not in before.splitlines(keepends=True):
            with atomic_write(allowed) as fh:
                fh.write(before + line)
    return signer


def load_signer(root: ArchiveRoot) -> Signer | None:
    """The configured signer, or ``None``: checkpoints are then not signed."""
    path = root.manifests / SIGNING_CONFIG_NAME
    try:
        obj = json.loads(path.read_bytes())
        return Signer(str(obj["ssh_key"]), str(obj["public_key"]), str(obj["principal"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampError(path, f"not a signing configuration ({exc}); run "
                             "`archiver config sign --ssh-key FILE` again") from exc


def sign_file(signer: Signer, path: Path) -> Path:
    """Sign ``path`` in the checkpoint namespace; return the ``.sig`` file written beside it."""
    sig = path.with_name(path.name + ".sig")
    sig.unlink(missing_ok=True)  # ssh-keygen will not overwrite; a left-over is stale
    done = _ssh_keygen("-Y", "sign", "-q", "-f", signer.key, "-n", NAMESPACE, str(path),
                       source=signer.key)
    if done.returncode != 0 or not sig.is_file():
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TimestampError(signer.key, "ssh-keygen -Y sign failed: "
                             + (why[-1] if why else f"exit {done.returncode}"))
    return sig


def verify_signature(root: ArchiveRoot, path: Path, principal: str) -> str | None:
    """Check ``path.sig`` with the archive's allowed_signers; ``None`` if good, else why."""
    sig = path.with_name(path.name + ".sig")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    done = _ssh_keygen("-Y", "verify", "-f", str(root.manifests / ALLOWED_SIGNERS),
                       "-I", principal, "-n", NAMESPACE, "-s", str(sig),
                       source=sig, stdin=data)
    if done.returncode == 0:
        return None
    why = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
    return "ssh-keygen -Y verify failed: " + (why[-1] if why else f"exit {done.returncode}")


def sign_checkpoint(root: ArchiveRoot, checkpoint: dict[str, object]) -> Path | None:
    """Sign a new evidence-log checkpoint, if a signer is configured; the signed file.

    The file is canonical JSON of ``{"checkpoint": ..., "signer": PRINCIPAL}``:
    the principal signs that this checkpoint is theirs.
    """
    signer = load_signer(root)
    if signer is None:
        return None
    body = {"checkpoint": checkpoint, "signer": signer.principal}
    path = root.manifests / CHECKPOINTS_DIR / f"checkpoint-{checkpoint['tree_size']:012d}.json"
    with atomic_write(path) as fh:
        fh.write(json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    sign_file(signer, path)
    return path
