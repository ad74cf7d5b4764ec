"""Write signed checkpoints of the ledger's head, off the event loop, to the file and remotes.

A checkpoint is written every ``every_events`` committed events or ``every_seconds``,
whichever comes first, and on clean shutdown. Before signing, the writer checks that
the ledger still extends the last checkpoint (the row it names is there with the same
hash), so a rewritten ledger is never signed over. Remote delivery runs in the same
thread after the local write; a failure is counted, logged and retried with back-off,
and never holds up the ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import text

from bastion.core.context import Context
from bastion.core.errors import ConfigError, IntegrityError
from bastion.core.events import EVENT_LEDGER_KEY, LedgerKeyPayload, make_event
from bastion.store.anchor.keys import SigningKeys
from bastion.store.anchor.records import (
    CheckpointRecord,
    KeyRecord,
    checkpoint_message,
    parse_line,
    parse_time,
    signature_valid,
    time_text,
)
from bastion.store.anchor.sinks import CheckpointLog, HttpRemote, RemoteCopy, RemoteError
from bastion.store.base import utcnow
from bastion.store.ledger import GENESIS, Ledger

_LOGGER = logging.getLogger(__name__)
KEY_GRACE_S = 300.0
"""How long after a rotation a checkpoint by the retired key is still accepted (clock skew,
a server that had not yet re-read the key file)."""
_RETRY_FIRST_S = 5.0
_HEAD_SQL = text("SELECT seq, hash FROM ledger_head WHERE id = 1")
_ROWS_SQL = text("SELECT seq, id, hash FROM ledger_events WHERE seq IN (:a, :b)")
_RETRY_MAX_S = 300.0


@dataclass(frozen=True)
class AnchorConfig:
    """Where the signing key and the checkpoints live, and how often to checkpoint."""

    key_file: Path
    checkpoint_dir: Path
    every_events: int = 1000
    every_seconds: float = 60.0
    remote_url: str | None = None
    remote_token: str | None = None
    remote_method: str = "POST"
    data_dir: Path | None = None


@dataclass
class AnchorStats:
    """Counters an operator (or a test) can read to see the anchor is working."""

    checkpoints: int = 0
    refused: int = 0
    write_failures: int = 0
    remote_sent: int = 0
    remote_failures: int = 0
    last_problem: str = ""
    problems: list[str] = field(default_factory=list)


def trusted(keys: SigningKeys, record: CheckpointRecord) -> bool:
    """Return True when ``record`` is this ledger's and validly signed by one of its keys."""
    key = keys.get(record.key_id)
    if record.ledger != keys.ledger_id or key is None:
        return False
    if not signature_valid(key.record.public_key, record.message(), record.sig):
        return False
    try:
        return key.valid_at(parse_time(record.time), grace_s=KEY_GRACE_S)
    except ValueError:
        return False


class Anchor:
    """Sign the ledger's head now and then and keep the signatures where the database is not."""

    def __init__(
        self,
        ledger: Ledger,
        config: AnchorConfig,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.stats = AnchorStats()
        self._now = now
        self._keys: SigningKeys | None = None
        self._write_lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._since = 0  # events committed since the last checkpoint (approximate)
        self._trusted_sig = ""  # signature of the last record this anchor wrote
        self._retry_at = 0.0
        self._backoff = _RETRY_FIRST_S

    # -- keys and places --------------------------------------------------------------------

    @property
    def key_file(self) -> Path:
        """Return the signing key file's path."""
        return self.config.key_file

    def has_keys(self) -> bool:
        """Return True when the signing key file exists."""
        return self.config.key_file.exists()

    def keys(self) -> SigningKeys:
        """Return the signing keys, re-reading the file when another process rotated them."""
        if self._keys is None or self._keys.changed_on_disk():
            self._keys = SigningKeys.load(self.config.key_file)
        return self._keys

    @property
    def log(self) -> CheckpointLog:
        """Return the local checkpoint log of this ledger (named by the ledger's identity)."""
        return CheckpointLog(self.config.checkpoint_dir / f"{self.keys().ledger_id}.jsonl")

    @property
    def remote(self) -> RemoteCopy | None:
        """Return the configured remote copy, if any."""
        if not self.config.remote_url:
            return None
        try:
            target = HttpRemote(
                self.config.remote_url,
                token=self.config.remote_token,
                method=self.config.remote_method,
            )
        except ValueError as exc:
            raise ConfigError(str(exc), field="BASTION_CHECKPOINT_URL") from None
        return RemoteCopy(self.log, target)

    def store_inside_data_dir(self) -> bool:
        """Return True when the checkpoint store sits inside the data directory."""
        if self.config.data_dir is None:
            return False
        store = self.config.checkpoint_dir.resolve()
        return store.is_relative_to(self.config.data_dir.resolve())

    def prepare(self, *, create: bool) -> SigningKeys:
        """Load the signing keys (making the first one when ``create``) and log their records."""
        with self._write_lock:
            keys = self._load_keys(create=create)
            self._sync_key_records(keys)
            return keys

    def _load_keys(self, *, create: bool) -> SigningKeys:
        """Load the signing keys, making the first one (and its ledger event) when ``create``."""
        if not self.has_keys():
            if not create:
                raise ConfigError(
                    "no ledger signing key: this ledger has never been anchored "
                    "(start the server or run 'bastion ledger checkpoint')",
                    file=str(self.config.key_file),
                )
            try:
                self._keys = SigningKeys.create(self.config.key_file, now=self._now())
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the ledger signing key: {exc.strerror or exc}",
                    file=str(self.config.key_file),
                ) from None
            self._record_key(self._keys.current.record, action="created")
        keys = self.keys()
        if keys.readable_by_others():
            raise ConfigError(
                "the ledger signing key file is readable by other users; "
                f"run: chmod 600 {self.config.key_file}",
                file=str(self.config.key_file),
            )
        if self.store_inside_data_dir():
            _LOGGER.warning(
                "the checkpoint store %s is inside the data directory: whoever can rewrite "
                "the database can rewrite it too; set BASTION_CHECKPOINT_DIR elsewhere",
                self.config.checkpoint_dir,
            )
        return keys

    def _record_key(self, record: KeyRecord, *, action: Literal["created", "rotated"]) -> None:
        """Write the key's public record to the ledger itself."""
        payload = LedgerKeyPayload(
            ledger_id=record.ledger,
            key_id=record.key_id,
            public_key=record.public_key,
            created=record.created,
            previous_key_id=record.previous_key_id,
            endorsement=record.endorsement,
            proof=record.proof,
            action=action,
        )
        event = make_event(
            EVENT_LEDGER_KEY, payload, context=Context(actor="system:ledger"), time=self._now()
        )
        self.ledger.append_sync([event])

    def _sync_key_records(self, keys: SigningKeys) -> None:
        """Append to the log any key record it lacks, oldest first."""
        log = self.log
        with log.locked() as writer:
            present = set()
            for _, text in log.read():
                try:
                    record = parse_line(text)
                except ValueError:
                    continue
                if isinstance(record, KeyRecord):
                    present.add(record.key_id)
            writer.append([k.record for k in keys.keys if k.key_id not in present])

    # -- checkpoints ------------------------------------------------------------------------

    def checkpoint(self, *, force: bool = False) -> CheckpointRecord | None:
        """Sign the head and append it to the log when it moved (or when ``force``).

        Raises IntegrityError, and signs nothing, when the ledger no longer extends the
        last checkpoint in the log. Safe from any thread; blocks on the database and disk.
        """
        with self._write_lock:
            keys = self.keys()
            self._since = 0
            log = self.log
            with log.locked() as writer:
                last = log.last_checkpoint(lambda r: self._trusted(keys, r))
                head_seq, head_hash, head_id, problem = self._read_head(last)
                if problem:
                    self.stats.refused += 1
                    raise IntegrityError(problem)
                if not force and head_seq == (last.seq if last is not None else 0):
                    return None
                stamp = time_text(self._now())
                key_id, sig = keys.sign(
                    checkpoint_message(
                        ledger=keys.ledger_id,
                        seq=head_seq,
                        head_hash=head_hash,
                        head_id=head_id,
                        time=stamp,
                    )
                )
                record = CheckpointRecord(
                    ledger=keys.ledger_id,
                    seq=head_seq,
                    head_hash=head_hash,
                    head_id=head_id,
                    time=stamp,
                    key_id=key_id,
                    sig=sig,
                )
                writer.append([record])
            self._trusted_sig = record.sig
            self.stats.checkpoints += 1
            return record

    def _trusted(self, keys: SigningKeys, record: CheckpointRecord) -> bool:
        """Check a log record's signature, skipping the one this anchor just wrote."""
        if record.sig == self._trusted_sig and record.key_id == keys.current.key_id:
            return True
        return trusted(keys, record)

    def _read_head(self, last: CheckpointRecord | None) -> tuple[int, str, str | None, str]:
        """Return the head's seq, hash and event id, and why it does not extend ``last``.

        The reason is "" when it does. Two small statements on one connection: this runs
        beside the hot path and must stay cheap.
        """
        with self.ledger.db.engine.connect() as conn:
            head = conn.execute(_HEAD_SQL).one_or_none()
            if head is None:
                raise IntegrityError("the ledger head row is missing")
            head_seq, head_hash = int(head[0]), str(head[1])
            last_seq = last.seq if last is not None else 0
            rows = {
                int(seq): (str(id_), str(hash_))
                for seq, id_, hash_ in conn.execute(_ROWS_SQL, {"a": head_seq, "b": last_seq})
            }
        head_id = None
        if head_seq:
            if rows.get(head_seq, ("", ""))[1] != head_hash:
                raise IntegrityError(
                    f"the ledger head names seq {head_seq}, but that row is missing or differs"
                )
            head_id = rows[head_seq][0]
        problem = ""
        if last is not None and head_seq < last.seq:
            problem = (
                f"the ledger ends at seq {head_seq} but was checkpointed at seq {last.seq} "
                "(rows removed); run 'bastion ledger verify'"
            )
        elif last is not None and last.seq and rows.get(last.seq, ("", ""))[1] != last.head_hash:
            problem = (
                f"row {last.seq} no longer matches its checkpoint of {last.time} "
                "(changed or rewritten); run 'bastion ledger verify'"
            )
        return head_seq, head_hash if head_seq else GENESIS, head_id, problem

    # -- keys rotation ----------------------------------------------------------------------

    def rotate(self) -> KeyRecord:
        """Checkpoint with the old key, replace it, record the new key everywhere, checkpoint again."""
        with self._write_lock:
            keys = self.prepare(create=False)
            self.checkpoint()
            record = keys.rotate(now=self._now())
            self._record_key(record, action="rotated")
            self._sync_key_records(keys)
            self.checkpoint(force=True)
            return record

    # -- background work --------------------------------------------------------------------

    def start(self) -> None:
        """Load or create the key, checkpoint the head as it stands, then run in the background."""
        if self._thread is not None:
            return
        with self._write_lock:
            keys = self._load_keys(create=True)
            try:
                self._sync_key_records(keys)
            except OSError as exc:
                self.stats.write_failures += 1
                self._problem(f"checkpoint log not writable: {exc}")
        self._checkpoint_quietly()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ledger-anchor", daemon=True)
        self._thread.start()
        self.ledger.on_commit = self.note_appended

    def note_appended(self, count: int) -> None:
        """Count committed events; wake the writer once enough have gone by. Cheap, any thread."""
        self._since += count
        if self._since >= self.config.every_events and not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        due = time.monotonic() + self.config.every_seconds
        while True:
            waits = [due - time.monotonic()]
            if self._remote_pending():
                waits.append(self._retry_at - time.monotonic())
            self._wake.wait(max(0.0, min(waits)))
            self._wake.clear()
            if self._stopping:
                return
            if self._since >= self.config.every_events or time.monotonic() >= due:
                self._checkpoint_quietly()
                due = time.monotonic() + self.config.every_seconds
            self._deliver_when_due()

    def _checkpoint_quietly(self) -> None:
        """Checkpoint, logging and counting (never raising) what goes wrong."""
        try:
            self.checkpoint()
        except IntegrityError as exc:
            self._problem(f"checkpoint refused: {exc}")
        except (ConfigError, OSError) as exc:
            self.stats.write_failures += 1
            self._problem(f"checkpoint not written: {exc}")
        except Exception as exc:
            self.stats.write_failures += 1
            _LOGGER.exception("checkpoint not written")
            self.stats.last_problem = str(exc)

    def _problem(self, message: str) -> None:
        if message != self.stats.last_problem:
            _LOGGER.error("%s", message)
        self.stats.last_problem = message
        self.stats.problems.append(message)
        del self.stats.problems[:-20]

    def _remote_pending(self) -> bool:
        try:
            remote = self.remote
            return remote is not None and remote.pending()
        except ConfigError:
            return False

    def _deliver_when_due(self, *, now_anyway: bool = False) -> None:
        if not now_anyway and time.monotonic() < self._retry_at:
            return
        try:
            self.deliver()
        except RemoteError:
            pass  # counted and logged by deliver(); retried after the back-off
        except (ConfigError, OSError) as exc:
            self._retry_at = time.monotonic() + _RETRY_MAX_S
            self._problem(f"checkpoint delivery not possible: {exc}")

    def deliver(self) -> int:
        """Send the log's undelivered lines to the remote; count and re-raise a failure."""
        remote = self.remote
        if remote is None:
            return 0
        try:
            sent = remote.deliver()
        except RemoteError as exc:
            self.stats.remote_failures += 1
            self._retry_at = time.monotonic() + self._backoff
            _LOGGER.warning(
                "checkpoint delivery to %s failed (%d failures so far; retrying in %.0f s): %s",
                remote.remote.display,
                self.stats.remote_failures,
                self._backoff,
                exc,
            )
            self._backoff = min(self._backoff * 2, _RETRY_MAX_S)
            raise
        self.stats.remote_sent += sent
        self._backoff, self._retry_at = _RETRY_FIRST_S, 0.0
        return sent

    @property
    def running(self) -> bool:
        """Return True while the background writer runs."""
        return self._thread is not None

    def close(self) -> None:
        """Stop the background writer, write a final checkpoint and try the remote once more."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self.ledger.on_commit == self.note_appended:
            self.ledger.on_commit = None
        self._stopping = True
        self._wake.set()
        thread.join(timeout=60)
        self._checkpoint_quietly()
        self._deliver_when_due(now_anyway=True)
