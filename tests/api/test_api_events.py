"""/api/ledger/verify checks the signed checkpoints and names a consistent rewrite."""

from __future__ import annotations

from pathlib import Path

from bastion.auth.permissions import Role
from bastion.hub import Hub
from bastion.store.anchor import Anchor, AnchorConfig
from bastion.store.db import Database
from tests.conftest import ClientFor
from tests.store.anchor.tamper import decision, delete_and_renumber


def test_verify_reports_checkpoint_findings(
    hub: Hub, client_for: ClientFor, database: Database, tmp_path: Path
):
    hub.anchor = Anchor(
        hub.ledger,
        AnchorConfig(key_file=tmp_path / "keys" / "ledger.key", checkpoint_dir=tmp_path / "cps"),
    )
    auditor = client_for(Role.AUDITOR)
    hub.anchor.prepare(create=True)
    hub.ledger.append_sync([decision(i) for i in range(6)])
    hub.anchor.checkpoint()

    body = auditor.get("/api/ledger/verify").json()
    assert body["ok"] is True and body["anchored_seq"] == body["rows_checked"]
    assert body["checkpoints"] == 1 and body["findings"] == []

    delete_and_renumber(database, seq=3)
    body = auditor.get("/api/ledger/verify").json()
    assert body["ok"] is False
    [finding] = [f for f in body["findings"] if f["problem"]]
    assert finding["kind"] == "renumbered"
    assert body["summary"].startswith("ledger TAMPERED: rows deleted and the rest renumbered")
    assert body["bad_seq"] == finding["seq"]


def test_verify_without_a_checkpoint_store_says_so(hub: Hub, client_for: ClientFor):
    body = client_for(Role.AUDITOR).get("/api/ledger/verify").json()
    assert body["ok"] is True
    assert [f["kind"] for f in body["findings"]] == ["note"]
    assert "only the chain was checked" in body["findings"][0]["message"]


def test_operators_cannot_verify(client_for: ClientFor):
    assert client_for(Role.OPERATOR).get("/api/ledger/verify").status_code == 403
