"""JSON twins of special approvals (R7), quality disputes (R16), transit claims (R15) and the
line import."""
from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody, MultipartBody

from dealers import line_import, special_cases
from dealers.inputs import (
    ClaimIn,
    CloseClaimIn,
    DisputeIn,
    SpecialDecisionIn,
    SpecialRequestIn,
    VerifyIn,
)
from portal import clock
from portal.api import api_token_required
from portal.spreadsheets import BODY_LIMIT
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor


@dataclass
class ImportIn:
    file: UploadFile


class SpecialApi(Controller):
    path = "/api/v1"
    guards = [api_token_required]
    tags = ["return batches"]
    request_max_body_size = JSON_MAX_BYTES  # the import sets its own

    @get("/special-approvals")
    async def approvals(self, request: Request) -> list[dict]:
        rows = await special_cases.list_special_approvals(actor=current_actor(request))
        return [{k: r[k] for k in ("id", "organisation", "month", "quality_problem", "reason",
                                   "status", "decision_reason", "batch_id")} for r in rows]

    @post("/special-approvals", status_code=201)
    async def request_approval(self, request: Request, data: JSONBody[SpecialRequestIn]) -> dict:
        approval_id = await special_cases.request_special_approval(
            actor=current_actor(request), organisation_id=data.organisation_id,
            reason=data.reason, quality_problem=data.quality_problem)
        return {"id": approval_id}

    @post("/special-approvals/{approval_id:int}/decide", status_code=200)
    async def decide(self, request: Request, approval_id: FromPath[int], data: JSONBody[SpecialDecisionIn]) -> dict:
        await special_cases.decide_special_approval(actor=current_actor(request),
                                                    approval_id=approval_id,
                                                    approve=data.approve, reason=data.reason)
        return {"id": approval_id, "status": "approved" if data.approve else "refused"}

    @post("/batches/{batch_id:int}/disputes", status_code=201)
    async def raise_dispute(self, request: Request, batch_id: FromPath[int], data: JSONBody[DisputeIn]) -> dict:
        return {"id": await special_cases.raise_quality_dispute(
            actor=current_actor(request), batch_id=batch_id, description=data.description)}

    @post("/disputes/{dispute_id:int}/verify", status_code=200)
    async def verify(self, request: Request, dispute_id: FromPath[int], data: JSONBody[VerifyIn]) -> dict:
        await special_cases.verify_quality_dispute(actor=current_actor(request),
                                                   dispute_id=dispute_id,
                                                   confirmed=data.confirmed, findings=data.findings)
        return {"id": dispute_id, "confirmed": data.confirmed}

    @get("/batches/{batch_id:int}/incidents")
    async def incidents(self, request: Request, batch_id: FromPath[int]) -> dict:
        from dealers.batches import get_batch

        await get_batch(actor=current_actor(request), batch_id=batch_id)
        return {"disputes": await special_cases.disputes_for(batch_id, clock.now()),
                "claims": await special_cases.claims_for(batch_id)}

    @post("/batches/{batch_id:int}/claims", status_code=201)
    async def open_claim(self, request: Request, batch_id: FromPath[int], data: JSONBody[ClaimIn]) -> dict:
        return {"id": await special_cases.open_transit_claim(
            actor=current_actor(request), batch_id=batch_id, carrier=data.carrier,
            lost_qty=data.lost_qty, damaged_qty=data.damaged_qty, claimed_fen=data.claimed_fen,
            note=data.note)}

    @post("/claims/{claim_id:int}/close", status_code=200)
    async def close_claim(self, request: Request, claim_id: FromPath[int], data: JSONBody[CloseClaimIn]) -> dict:
        await special_cases.close_transit_claim(actor=current_actor(request), claim_id=claim_id,
                                                recovered_fen=data.recovered_fen, note=data.note)
        return {"id": claim_id, "status": "closed"}

    @post("/batches/{batch_id:int}/import", status_code=201, request_max_body_size=BODY_LIMIT)
    async def import_lines(self, request: Request, batch_id: FromPath[int],
                           data: MultipartBody[ImportIn]) -> dict:
        content = await data.file.read()
        added = await line_import.import_lines(actor=current_actor(request), batch_id=batch_id,
                                               filename=data.file.filename or "", content=content)
        return {"added": added}
