"""The control tower's rules, pure (no database, no clock): the measures of R31/R35 and how a
figure is judged against its target, quarters and months, the early warning's statistical
test (R7, R16) and the appraisal score (R36).

A figure is a ratio kept as its two counts (`num` / `den`), never as a float: months add up to
quarters and organisations to regions exactly, and the comparison with a target in basis points
is done in integers (num x 10000 against target x den)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

# R31/R35: each measure, how it compares with its target, and the manuals' target (bp).
# "at_least": the figure must reach the target; "above": strictly exceed it; "at_most" /
# "below": must not exceed / must stay under it (lower is better).
MEASURES: dict[str, tuple[str, int]] = {
    "on_site": ("at_least", 10000),  # R33: every call visited within 24 h
    "complaint_rate": ("below", 100),  # below 1 % of units sold
    "resolution": ("at_least", 9700),  # at least 97 %
    "satisfaction": ("at_least", 9500),  # at least 95 %
    "first_time_fix": ("above", 9000),  # above 90 %
    "return_rate": ("at_most", 200),  # at most 2 % of units sold
}
MEASURE_LABELS = {  # msgids
    "on_site": "On site within 24 hours",
    "complaint_rate": "Complaint rate",
    "resolution": "Complaints resolved",
    "satisfaction": "Satisfaction",
    "first_time_fix": "Fixed at the first visit",
    "return_rate": "Return rate",
}
DIRECTION_LABELS = {"at_least": "at least %(target)s", "above": "above %(target)s",
                    "at_most": "at most %(target)s", "below": "below %(target)s"}
LOWER_IS_BETTER = {"at_most", "below"}


def lower_is_better(measure: str) -> bool:
    return MEASURES[measure][0] in LOWER_IS_BETTER


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_back(today: date, count: int) -> list[date]:
    """The first days of the `count` months up to and including today's, oldest first."""
    this = today.replace(day=1)
    return [add_months(this, -i) for i in range(count - 1, -1, -1)]


def is_quarter_start(day: date) -> bool:
    return day.day == 1 and day.month in (1, 4, 7, 10)


def met(measure: str, num: int, den: int, target_bp: int) -> bool:
    """Whether num/den keeps the target, exactly (integers)."""
    direction = MEASURES[measure][0]
    left, right = num * 10000, target_bp * den
    return {"at_least": left >= right, "above": left > right,
            "at_most": left <= right, "below": left < right}[direction]


@dataclass(frozen=True)
class Figure:
    measure: str
    num: int
    den: int
    target_bp: int
    status: str  # green | amber | red | few (too few cases: no percentage is shown)
    value_bp: int | None  # rounded half up; None when too few cases

    @property
    def percent(self) -> str:
        return "" if self.value_bp is None else \
            f"{self.value_bp / 100:.2f}".rstrip("0").rstrip(".") + " %"


def ratio_bp(num: int, den: int) -> int:
    """num/den in basis points, rounded half up (integers only)."""
    return (num * 20000 + den) // (2 * den)


def figure(measure: str, num: int, den: int, *, target_bp: int, min_cases: int,
           amber_margin_bp: int) -> Figure:
    """R35: a figure against its target. Below `min_cases` cases (the denominator: calls,
    units sold, answers, repairs) it says "too few cases" instead of a percentage. Green keeps
    the target; amber misses it by at most `amber_margin_bp` of the target itself (a relative
    band: 5 % of 97 % is 4.85 points, 5 % of 1 % is 0.05 points); red misses it by more."""
    if den <= 0 or den < min_cases:
        return Figure(measure, num, den, target_bp, "few", None)
    value = ratio_bp(num, den)
    if met(measure, num, den, target_bp):
        status = "green"
    else:
        # the band's edge, target x (1 -/+ margin), compared exactly: num/den vs edge/10000^2
        sign = 1 if lower_is_better(measure) else -1
        edge = target_bp * (10000 + sign * amber_margin_bp)  # in bp x 10000
        left, right = num * 10000 * 10000, edge * den
        inside = left <= right if lower_is_better(measure) else left >= right
        status = "amber" if inside else "red"
    return Figure(measure, num, den, target_bp, status, value)


# --- R7/R16 early warning ----------------------------------------------------------------------

def poisson_upper_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), by summing the lower terms in log space (exact enough
    for the counts of a month's returns; no SciPy)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # P(X >= k) = 1 - sum_{i<k} p(i); for a far tail, sum the upper terms instead
    if k > lam:
        total, i = 0.0, k
        log_p = -lam + k * math.log(lam) - math.lgamma(k + 1)
        while True:
            term = math.exp(log_p)
            total += term
            i += 1
            log_p += math.log(lam) - math.log(i)
            if term < total * 1e-17 or i > k + 10000:
                return min(1.0, total)
    lower, log_p = 0.0, -lam
    for i in range(k):
        lower += math.exp(log_p)
        log_p += math.log(lam) - math.log(i + 1)
    return max(0.0, 1.0 - lower)


@dataclass(frozen=True)
class Cell:
    """One product x date-code month x region in one window: `observed` units of the date
    code returned from the region; `region_product` all units of the product the region
    returned; `rest_code` / `rest_product` the same two counts from the rest of the network."""
    product: int
    date_code_month: date
    region: int
    observed: int
    region_product: int
    rest_code: int
    rest_product: int


@dataclass(frozen=True)
class Verdict:
    cell: Cell
    expected: float
    p_value: float
    threshold: float
    alert: bool


def expected_returns(cell: Cell) -> float:
    """The count the region would return had its returns of the product the date-code mix of
    the rest of the network: the region's own volume of the product (its baseline size) times
    the date code's share in the rest of the network. A date code the rest never returned gets
    the smallest share one more unit would give (no division by zero, no free alert)."""
    if cell.rest_product <= 0:
        return float(cell.region_product)  # nothing to compare with: never significant
    share = max(cell.rest_code, 1) / (cell.rest_product + 1)
    return cell.region_product * share


def batch_quality_test(cells: list[Cell], *, alpha_bp: int, min_count: int) -> list[Verdict]:
    """R7/R16: a one-sided Poisson exact test per cell, H0: the region returns the date code at
    the rate the rest of the network does, given its own volume of the product. Bonferroni: the
    family-wise error `alpha_bp` (10 bp = 0.1 %) is split over every cell tested in the run, so a
    month of noise over thousands of cells raises an alert with probability at most alpha.
    Cells with fewer than `min_count` units are not tested (and do not count in the split)."""
    tested = [c for c in cells if c.observed >= min_count]
    if not tested:
        return []
    threshold = alpha_bp / 10000 / len(tested)
    verdicts = []
    for cell in tested:
        lam = expected_returns(cell)
        p = poisson_upper_tail(cell.observed, lam)
        verdicts.append(Verdict(cell, lam, p, threshold, p < threshold and cell.observed > lam))
    return verdicts


# --- R36 appraisal ------------------------------------------------------------------------------

APPRAISAL_BANDS = ((90, "excellent"), (80, "good"), (70, "pass"), (0, "fail"))
BAND_LABELS = {"excellent": "excellent", "good": "good", "pass": "pass", "fail": "fail"}


def band(score: int) -> str:
    """R36/R31: below 70 fails, 80 good, 90 excellent."""
    return next(name for floor, name in APPRAISAL_BANDS if score >= floor)


def measure_points(fig: Figure) -> int | None:
    """A measure's points out of 100: 100 when the target is kept, else in proportion to how
    close it came (for a lower-is-better rate: target / figure); None with too few cases."""
    if fig.status == "few" or fig.value_bp is None:
        return None
    if fig.status == "green":
        return 100
    if lower_is_better(fig.measure):
        return max(0, min(100, fig.target_bp * 100 // max(fig.value_bp, 1)))
    return max(0, min(100, fig.value_bp * 100 // max(fig.target_bp, 1)))


def appraisal_score(points: dict[str, int | None], weights: dict[str, int],
                    audit: int | None = None, audit_weight: int = 0) -> int | None:
    """R36: the weighted mean of the measures' points (measures with too few cases left out and
    their weight with them), with the audit result (0-100) as one more weighted input when there
    is one. None when nothing could be scored."""
    total = weight_sum = 0
    for measure, value in points.items():
        if value is not None and weights.get(measure, 0) > 0:
            total += value * weights[measure]
            weight_sum += weights[measure]
    if audit is not None and audit_weight > 0:
        total += audit * audit_weight
        weight_sum += audit_weight
    if weight_sum == 0:
        return None
    return (total * 2 + weight_sum) // (2 * weight_sum)


# --- GB/T 27922 self-assessment (issue 15 §7) ---------------------------------------------------

# Seed 004 §10: 70 passes (及格), 80 and above fairly good (较好), 90 and above excellent (优秀);
# R36 reads "70 and below are penalised" as below 70. 95 is the standard's certification rule
# for five stars (80 three, 90 four), which the seed does not name.
GBT_GRADES = ((95, "outstanding"), (90, "excellent"), (80, "fairly_good"), (70, "passed"),
              (0, "not_passed"))
GBT_GRADE_LABELS = {"outstanding": "outstanding (five stars)", "excellent": "excellent",
                    "fairly_good": "fairly good", "passed": "passed", "not_passed": "not passed"}


def gbt_grade(total: int) -> str:
    """The self-assessment's total out of 100 on the 70 / 80 / 90 / 95 scale."""
    return next(name for floor, name in GBT_GRADES if total >= floor)


def share_points(max_points: int, num: int, den: int) -> int:
    """`max_points` x num/den, at most `max_points`, rounded half up (integers only); 0 when
    there is nothing to divide by."""
    if den <= 0 or num <= 0:
        return 0
    return min(max_points, (max_points * num * 2 + den) // (2 * den))
