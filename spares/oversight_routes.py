"""A point's repair fee (R24) and consumer disputes (R29) on its page."""
from __future__ import annotations

from litestar import Request, Response, post
from litestar.params import FromPath

from spares import oversight
from spares.inputs import (
    DisputeIn,
    DisputeMediationIn,
    DisputeRulingIn,
    FeeDecisionIn,
    FeeIn,
    kwargs,
)
from spares.point_page import act_on_point


class OversightPages:
    """Fee and dispute routes under /repair-points (part of RepairPointController)."""

    @post("/{point_id:int}/fee")
    async def propose_fee(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, FeeIn, lambda actor, data: oversight.propose_fee(
                actor=actor, point_id=point_id, **kwargs(data)),
            success="Repair fee proposed; head office customer service has been told.")

    @post("/{point_id:int}/fee-decision")
    async def decide_fee(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, FeeDecisionIn, lambda actor, data: oversight.decide_fee(
                actor=actor, fee_id=data.fee_id, approve=data.approve, reason=data.reason),
            success="Repair fee decided; the repair point and the proposer have been told.")

    @post("/{point_id:int}/dispute")
    async def record_dispute(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, DisputeIn, lambda actor, data: oversight.record_dispute(
                actor=actor, point_id=point_id, **kwargs(data)),
            success="Dispute recorded; the office manager has been asked to mediate.")

    @post("/{point_id:int}/mediation")
    async def mediate(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, DisputeMediationIn, lambda actor, data: oversight.mediate_dispute(
                actor=actor, dispute_id=data.dispute_id, settled=data.settled, notes=data.notes),
            success="Mediation recorded; the people concerned have been told.")

    @post("/{point_id:int}/ruling")
    async def rule(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, DisputeRulingIn, lambda actor, data: oversight.rule_dispute(
                actor=actor, dispute_id=data.dispute_id, ruling=data.ruling),
            success="Final ruling recorded; the repair point and the office have been told.")
