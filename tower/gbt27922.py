"""GB/T 27922-2011 (商品售后服务评价体系) self-assessment: the standard's indicators as seed 004
§0.7 lists them in its responsibility table (售后服务体系过程职责分配表), each with the points
head office gives it (100 in all) and where its score comes from:

- `live`: computed from the portal's own records for the year (`tower/selfassessment_live.py`,
  the key naming the scorer): the R35 measures, the R30 audits, the R34 return visits;
- `evidence`: scored by head office from the documents it uploads (seed 004 §9: the supervisor
  scores once a year against the evaluation sheet).

The points are HQ's choice, not the standard's: when a year's assessment is opened each
indicator is copied with its points into `self_assessment_item`, so changing them here changes
later years only and a past year keeps the points it was scored on. The seed's table names
clause 5.2.4.1 "5.2.4.111" and cuts 5.2.4.5 short ("配件质量、供"); both are written out here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    code: str  # the standard's clause
    name_zh: str
    name_en: str
    max_points: int
    source: str  # live | evidence
    live: str = ""  # the live scorer (selfassessment_live.SCORERS) for a live indicator


def _e(code: str, zh: str, en: str, points: int) -> Indicator:
    return Indicator(code, zh, en, points, "evidence")


def _l(code: str, zh: str, en: str, points: int, live: str) -> Indicator:
    return Indicator(code, zh, en, points, "live", live)


INDICATORS: tuple[Indicator, ...] = (
    # 5.1 the service system
    _e("5.1.1", "组织架构", "Organisation structure", 3),
    _e("5.1.2", "人员配置", "Staffing", 3),
    _e("5.1.3", "资源配置", "Resources", 3),
    _e("5.1.4", "规范要求", "Written rules", 3),
    _l("5.1.5", "监管", "Supervision", 4, "audits"),  # R30: offices audited in the year
    _e("5.1.6", "改进", "Improvement", 3),
    _e("5.1.7", "服务文化", "Service culture", 2),
    # 5.2.1 product information
    _e("5.2.1.1", "包装", "Packaging", 2),
    _e("5.2.1.2", "附属文档", "Accompanying documents", 2),
    _e("5.2.1.3", "明示信息", "Stated information", 2),
    _e("5.2.1.4", "安全提示", "Safety warnings", 2),
    _e("5.2.1.5", "缺陷信息公开", "Disclosure of defects", 2),
    _e("5.2.2", "技术支持", "Technical support", 3),
    # 5.2.3 delivery
    _e("5.2.3.1", "包装", "Packaging for delivery", 2),
    _e("5.2.3.2", "按时送达", "Delivery on time", 3),
    # 5.2.4 repair
    _l("5.2.4.1", "登记和接待", "Registration and reception", 6, "on_site"),  # R33: 24 h
    _l("5.2.4.2", "合规性", "Repair compliance", 5, "first_time_fix"),
    _e("5.2.4.3", "个人形象", "Personal appearance", 2),
    _e("5.2.4.4", "设施维护", "Maintenance of facilities", 2),
    _e("5.2.4.5", "配件质量、供应", "Spare parts: quality and supply", 3),
    _e("5.2.4.6", "代用品", "Substitute products", 2),
    # 5.2.5 quality guarantee
    _l("5.2.5.1", "质量合规", "Quality compliance", 5, "complaint_rate"),
    _e("5.2.5.2", "保修期合规", "Warranty periods kept", 3),
    _l("5.2.5.3", "退换", "Returns and exchanges", 5, "return_rate"),
    _e("5.2.5.4", "缺陷", "Defects", 2),
    _e("5.2.5.5", "先行赔付", "Compensation in advance", 2),
    _e("5.2.6", "废弃商品回收", "Take-back of discarded products", 2),
    # 5.3.1 customer relations
    _e("5.3.1.1", "反馈渠道", "Feedback channels", 2),
    _e("5.3.1.2", "网站", "Website", 1),
    _e("5.3.1.3", "管理系统", "Management system", 2),
    _l("5.3.1.4", "满意度调查", "Satisfaction survey", 5, "satisfaction"),
    _l("5.3.1.5", "回馈服务", "Return visits", 3, "return_visits"),  # R34: 5 % a year
    # 5.3.2 complaints
    _e("5.3.2.1", "记录", "Complaint records", 3),
    _l("5.3.2.2", "反馈、解决", "Feedback and resolution", 5, "resolution"),
    _e("5.3.2.3", "调解", "Mediation", 1),
)

BY_CODE = {i.code: i for i in INDICATORS}
