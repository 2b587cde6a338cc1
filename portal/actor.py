"""Who is acting: the signed-in user as the services see them."""
from __future__ import annotations

from dataclasses import dataclass, field

HQ_ROLES = frozenset({"hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin", "auditor",
                      "vice_president"})
ALL_ROLES = (
    "dealer_clerk", "manager", "repair_staff",
    "hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin", "auditor", "vice_president",
)


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    display_name: str
    organisation_id: int
    organisation_path: str
    organisation_kind: str
    roles: frozenset[str]
    locale: str = "zh_CN"
    # paths of the offices a regional manager covers (SPEC §1)
    covered_paths: tuple[str, ...] = field(default_factory=tuple)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_everything(self) -> bool:
        """HQ roles see the whole network; the auditor reads it all (SPEC §1)."""
        return self.organisation_kind == "hq" and bool(self.roles & HQ_ROLES)

    @property
    def read_only(self) -> bool:
        """The auditor reads everything and changes nothing."""
        return self.roles == frozenset({"auditor"})

    @property
    def scope_roots(self) -> tuple[str, ...]:
        """Paths whose subtrees this actor may see (empty and sees_everything: all)."""
        if self.organisation_kind == "hq":
            return self.covered_paths
        return (self.organisation_path, *self.covered_paths)

    def can_see_path(self, path: str) -> bool:
        return self.sees_everything or any(path.startswith(root) for root in self.scope_roots)
