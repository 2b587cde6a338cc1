"""What each of the shell's actions takes (issue 11 §5): one dataclass per action, read from
the page's form by `portal.actions.form_input` and, where there is an API twin, decoded from
its JSON body — so a form and its twin are checked alike. Field names are the form's names."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class OrganisationIn:
    """A new organisation under its parent (HQ admin; `POST /api/v1/organisations` too)."""
    name: str
    kind: str
    parent_id: int
    region_id: int | None = None
    name_en: str = ""


@dataclass
class OrganisationEditIn:
    name: str
    name_en: str = ""
    region_id: int | None = None
    active: bool = False
    reason: str = ""


@dataclass
class UserIn:
    """A new account (HQ admin). `covers`: the offices a regional manager looks after."""
    username: str
    display_name: str
    organisation: int
    password: str
    email: str = ""
    roles: list[str] = field(default_factory=list)
    locale: str = "zh_CN"
    covers: list[int] = field(default_factory=list)


@dataclass
class UserEditIn:
    display_name: str
    email: str = ""
    roles: list[str] = field(default_factory=list)
    active: bool = False
    locale: str = "zh_CN"
    reason: str = ""


@dataclass
class PolicyIn:
    """A policy's new value as typed in its unit (yuan, %, hours...), from a future date (R17)."""
    value: str
    effective_from: date
    reason: str = ""


@dataclass
class WarrantyIn:
    """R17: a category's warranty in months (0 = none); `POST /api/v1/catalog/...` too."""
    warranty_months: int
    reason: str = ""


@dataclass
class ProductIn:
    model: str
    category: int
    name_zh: str
    name_en: str = ""
    spec: str = ""


@dataclass
class SparePriceIn:
    """A spare part's price, typed in yuan in the field `unit_price`."""
    unit_price_fen: int
    reason: str = ""
