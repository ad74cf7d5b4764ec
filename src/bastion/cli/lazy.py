"""A command group that imports its sub-groups only when one is used.

``bastion --help`` and every light command must start quickly, so the top-level group
knows each sub-group by name, module and one-line help, and imports the module (and the
libraries behind it) only when that group runs or shows its own help.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup


class LazyGroup(TyperGroup):
    """A Typer group whose ``groups`` entries load on first use."""

    groups: ClassVar[dict[str, tuple[str, str]]] = {}
    """Sub-group name → (module holding its ``app``, its one-line help)."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Return the eager commands, then the lazy groups, in declaration order."""
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in self.groups if name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """Return a command; a lazy group is imported unless only its help line is needed."""
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.groups:
            return command
        module_name, help_line = self.groups[cmd_name]
        if self._listing:
            return TyperGroup(name=cmd_name, help=help_line)
        command = typer.main.get_command(import_module(module_name).app)
        command.name = cmd_name
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """List the groups from their declared help lines, importing none of them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def show_flags_as_flags() -> None:
    """Show an on/off option as a bare flag in help, not followed by ``<bool>``.

    Typer labels every option with its type; for a flag the label reads as if the flag
    took a value (``--fresh <bool>``), which it does not.
    """
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_flags_as_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    display_type_rich._flags_as_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
