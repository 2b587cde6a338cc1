"""Every control-tower route, for the composition root (portal/app.py)."""
from __future__ import annotations

from tower.alert_routes import AlertApi, AlertController
from tower.api import TowerApi
from tower.appraisal_routes import AppraisalApi, AppraisalController
from tower.defect_routes import DefectApi, DefectController, ReasonCodeController
from tower.routes import TowerController
from tower.selfassessment_routes import SelfAssessmentApi, SelfAssessmentController

HANDLERS: list = [TowerController, TowerApi, AlertController, AlertApi,
                  DefectController, ReasonCodeController, DefectApi,
                  AppraisalController, AppraisalApi,
                  SelfAssessmentController, SelfAssessmentApi]  # GB/T 27922 (issue 15 §7)
