"""Start the door board on a hub: rebuild it from the ledger, then follow the bus."""

from __future__ import annotations

from bastion.doors.board import DoorBoard
from bastion.hub import Hub
from bastion.site.lockdown import lockdowns_of
from bastion.store.ledger import row_to_event

BOARD_EVENT_TYPES = (
    "door.state",
    "door.forced",
    "door.held",
    "door.command",
    "site.lockdown",
    "device.health",
    "door.lockdown_override",
)


def start_door_board(hub: Hub, *, replay_limit: int = 5000) -> DoorBoard:
    """Create the board, replay recent door events and subscribe it. Must run in the loop."""
    board = DoorBoard(hub.extras.get("sites", {}).values(), lockdowns_of(hub))
    rows = hub.ledger.query(types=list(BOARD_EVENT_TYPES), limit=replay_limit)
    board.replay(row_to_event(row) for row in reversed(rows))
    board.subscribe(hub.bus)
    hub.extras["door_board"] = board
    return board
