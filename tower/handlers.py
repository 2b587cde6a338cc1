"""Every control-tower route, for the composition root (portal/app.py)."""
from __future__ import annotations

from tower.api import TowerApi
from tower.routes import TowerController

HANDLERS: list = [TowerController, TowerApi]
