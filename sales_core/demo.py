"""A realistic, deterministic demo data set, loaded on first start.

A new user sees a working dashboard before importing anything: three teams,
fourteen reps, about 1,500 deals and their follow-ups over half a year, as 25
weekly CRM exports (every Friday up to DEMO_AS_OF). All numbers are synthetic.

Each deal is first built as a timeline (created, the day it entered each
stage, won or lost on a day or still open, amount and expected-close changes,
owner changes) and then projected into each weekly snapshot as the export of
that Friday would have shown it. So successive snapshots show real pipeline
flow: advances, slips, amount changes, reassignments and a few deals that
vanish from later exports.

Five reps are shaped on purpose so every rhythm and funnel view has something
to find: RUSHER_REP closes at month end, PILER_REP sits on deals, STEADY_REP
keeps an even rhythm, WEAK_REP loses deals after quoting and WAVE_REP runs hot
and cold. LEAVER_REP left in September and SUCCESSOR_REP took over the open
deals. Everyone else is ordinary, with noise.
"""

from __future__ import annotations

import logging
from bisect import bisect, bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sales_core.calendar import is_working_day, last_working_days, month_pace
from sales_core.schema import Kind, field_names

logger = logging.getLogger(__name__)

DEMO_AS_OF = date(2026, 11, 20)
FIRST_SNAPSHOT = date(2026, 6, 5)
HISTORY_START = date(2026, 4, 1)
DEFAULT_SEED = 20261120

RUSHER_REP = "林志豪"
PILER_REP = "马国栋"
STEADY_REP = "陈思远"
WEAK_REP = "王磊"
WAVE_REP = "高翔"
LEAVER_REP = "吴婷婷"
SUCCESSOR_REP = "梁浩"
LEAVER_LEFT_ON = date(2026, 9, 15)

# The seed stage keys (DESIGN.md section 4); the demo does not follow edits
# to data/stages.toml.
OPEN_STAGES = ("lead", "contacted", "quoted", "negotiating", "deciding")
WON, LOST = "won", "lost"

TEAMS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "华东一组": (
        "周文斌",
        ("上海", "杭州", "苏州", "南京", "宁波", "无锡", "合肥"),
        (STEADY_REP, "李娜", WEAK_REP, "陈静怡", "刘洋"),
    ),
    "华南组": (
        "黄志强",
        ("广州", "深圳", "东莞", "佛山", "厦门", "珠海", "福州"),
        (RUSHER_REP, "何丽", PILER_REP, LEAVER_REP, SUCCESSOR_REP),
    ),
    "北方大客户组": (
        "孙建国",
        ("北京", "天津", "济南", "青岛", "沈阳", "石家庄", "大连"),
        ("赵敏", "郑凯", WAVE_REP, "杨雪"),
    ),
}
BIG_ACCOUNT_TEAM = "北方大客户组"
SHAPED_REPS = (RUSHER_REP, PILER_REP, STEADY_REP, WEAK_REP, WAVE_REP)
# Whose November target leaves them ahead of pace on DEMO_AS_OF, and behind.
AHEAD_REPS = (STEADY_REP, "李娜", "赵敏", "何丽")
BEHIND_REPS = (RUSHER_REP, PILER_REP, WEAK_REP, "陈静怡")

SOURCES = ("官网", "转介绍", "展会", "电话营销", "老客户", "渠道")
INTENTS = ("A", "B", "C")
CUSTOMER_TYPES = ("有预算没决策权", "有兴趣但犹豫", "比价型", "忙但有需求")
LOST_REASONS = (
    "价格太高",
    "选择了竞品",
    "预算取消",
    "决策人变动",
    "需求不匹配",
    "联系不上",
)
ACTIVITY_KINDS = ("call", "visit", "message", "email", "meeting")

INDUSTRIES: dict[str, tuple[str, ...]] = {
    "制造业": ("精密机械", "电子科技", "自动化设备", "新材料", "汽车零部件", "模具"),
    "零售": ("商贸", "连锁超市", "百货", "电子商务", "便利店"),
    "教育": ("教育科技", "培训学校", "文化传播", "职业教育"),
    "医疗": ("医疗器械", "医药连锁", "健康管理", "生物科技"),
    "物流": ("物流", "供应链管理", "国际货运", "仓储服务"),
    "软件": ("软件", "信息技术", "网络科技", "数据科技"),
}
# Brand words of two characters each, written as one run of text.
_BRAND_TEXT = (
    "恒信华泰宏达瑞丰金桥天成鼎盛嘉禾博远中科新锐海川永安润泽卓越"
    "东方长盛汇通明德启航凯瑞盛世远景同创百川信达锦程华盛万达安泰"
    "佳和弘毅正泰汇丰聚源星辰天翼德信宏图旭日中联合力创新睿智蓝海"
    "银河联合开元融通华夏世纪泰和兴业美达光明骏马捷达广源顺昌鑫源"
)
BRAND_WORDS = tuple(_BRAND_TEXT[i : i + 2] for i in range(0, len(_BRAND_TEXT), 2))
PRODUCTS: dict[str, float] = {
    "CRM标准版": 0.6,
    "CRM企业版": 1.4,
    "智能客服系统": 1.0,
    "数据看板": 0.8,
    "营销自动化": 1.1,
    "实施服务": 0.7,
    "年度维保": 0.4,
}
DEAL_WORDS = ("采购", "项目", "升级", "选型")
NOTES = (
    "客户年底有预算",
    "需要走招标流程",
    "老板下周出差",
    "竞品在跟进",
    "对价格敏感",
    "需要先试用",
    "决策链较长",
    "去年合作过",
    "财务审批慢",
)
NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "lead": ("首次电话沟通", "加微信发资料", "确认联系人"),
    "contacted": ("约上门拜访", "需求调研", "安排产品演示"),
    "quoted": ("跟进报价反馈", "调整方案后重新报价", "约技术交流"),
    "negotiating": ("申请特价审批", "确认合同条款", "约老板面谈"),
    "deciding": ("催合同盖章", "跟进付款进度", "等待老板拍板"),
}
SUMMARIES: dict[str, tuple[str, ...]] = {
    "call": (
        "电话沟通需求，客户有兴趣",
        "电话回访，客户在外地出差",
        "电话跟进报价反馈",
        "电话确认采购流程",
        "未接通，稍后再打",
        "电话沟通预算和时间",
    ),
    "visit": ("上门拜访，演示产品", "拜访采购负责人", "现场调研业务流程"),
    "message": ("微信发送产品资料", "微信跟进，客户已读未回", "微信发送客户案例"),
    "email": ("邮件发送方案", "邮件发送报价单", "邮件确认合同条款", "邮件发送试用账号"),
    "meeting": ("线上会议演示", "与技术负责人开会", "商务谈判会议", "合同评审会"),
}
HOLIDAY_MESSAGE = "节日问候，顺带了解进度"
# Follow-up that moves a deal into a stage: (kind, summary).
STAGE_EVENTS: dict[str, tuple[str, str]] = {
    "lead": ("call", "新线索，首次电话联系"),
    "contacted": ("call", "初次沟通，确认需求"),
    "quoted": ("email", "发送正式报价单"),
    "negotiating": ("meeting", "商务谈判，讨论折扣和付款方式"),
    "deciding": ("visit", "提交合同，等待客户内部审批"),
    WON: ("meeting", "合同签订，客户已付款"),
    LOST: ("call", "客户确认不采购"),
}
KIND_WEIGHTS: dict[str, tuple[float, ...]] = {
    "lead": (0.55, 0.02, 0.35, 0.08, 0.0),
    "contacted": (0.45, 0.15, 0.25, 0.1, 0.05),
    "quoted": (0.35, 0.1, 0.2, 0.25, 0.1),
    "negotiating": (0.35, 0.2, 0.15, 0.1, 0.2),
    "deciding": (0.4, 0.2, 0.25, 0.05, 0.1),
}
EFFECTIVE_SHARE = {
    "call": 0.6,
    "visit": 0.92,
    "message": 0.4,
    "email": 0.35,
    "meeting": 0.95,
}

# Chance to move on from each open stage, and mean days spent there.
ADVANCE = {
    "lead": 0.9,
    "contacted": 0.8,
    "quoted": 0.74,
    "negotiating": 0.82,
    "deciding": 0.78,
}
WEAK_QUOTED_ADVANCE = 0.25
DWELL_DAYS = {
    "lead": 6,
    "contacted": 12,
    "quoted": 14,
    "negotiating": 12,
    "deciding": 10,
}
LOST_REASON_WEIGHTS: dict[str, tuple[float, ...]] = {
    # order of LOST_REASONS: 价格 竞品 预算 决策人 需求 联系不上
    "lead": (0.0, 0.1, 0.1, 0.0, 0.3, 0.5),
    "contacted": (0.05, 0.2, 0.15, 0.0, 0.35, 0.25),
    "quoted": (0.45, 0.3, 0.1, 0.05, 0.1, 0.0),
    "negotiating": (0.4, 0.35, 0.1, 0.15, 0.0, 0.0),
    "deciding": (0.1, 0.3, 0.3, 0.3, 0.0, 0.0),
}

# The canonical deal columns, in the order _project fills them.
DEAL_COLUMNS = tuple(field_names(Kind.DEALS))

_EPOCH = date(2026, 1, 1)
_CALENDAR_END = date(2027, 12, 31)
_NONE = -1


@dataclass(frozen=True)
class DemoData:
    """The demo data set: weekly deal snapshots and the tables beside them."""

    snapshots: list[tuple[date, pd.DataFrame]]
    activities: pd.DataFrame
    targets: pd.DataFrame
    reps: pd.DataFrame


@dataclass
class _Rep:
    name: str
    team: str
    deals_per_day: float
    activities_per_day: float
    left_on: int | None = None


@dataclass
class _Deal:
    """One deal's whole history, in day numbers counted from _EPOCH."""

    rep: _Rep
    created: int
    deal_id: str = ""
    deal_name: str = ""
    customer: str = ""
    source: str = ""
    intent: str = ""
    industry: str = ""
    customer_type: str = ""
    product: str = ""
    note: str | None = None
    stage_days: list[int] = field(default_factory=list)
    outcome: str | None = None
    closed: int | None = None
    lost_at: str | None = None
    lost_reason: str | None = None
    stalled_from: int | None = None
    removed: int | None = None
    amount_days: list[int] = field(default_factory=list)
    amounts: list[float] = field(default_factory=list)
    expected_days: list[int] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    owner_days: list[int] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    touch_days: list[int] = field(default_factory=list)
    touch_steps: list[tuple[str | None, int]] = field(default_factory=list)

    @property
    def end(self) -> int:
        """First day the deal is no longer open (closed, removed or beyond)."""
        ends = [day for day in (self.closed, self.removed) if day is not None]
        return min(ends) if ends else 10**6

    def owner_on(self, day: int) -> str:
        return self.owners[max(0, bisect_right(self.owner_days, day) - 1)]

    def stage_on(self, day: int) -> str:
        if self.closed is not None and self.closed <= day:
            return WON if self.outcome == WON else LOST
        return OPEN_STAGES[max(0, bisect_right(self.stage_days, day) - 1)]


def _day(when: date) -> int:
    return (when - _EPOCH).days


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


class _Calendar:
    """Working days by day number, with a next-working-day lookup."""

    def __init__(self) -> None:
        size = _day(_CALENDAR_END) + 1
        self.working = np.array([is_working_day(_date(day)) for day in range(size)])
        following = np.empty(size, dtype=np.int64)
        upcoming = size
        for day in range(size - 1, -1, -1):
            if self.working[day]:
                upcoming = day
            following[day] = upcoming
        self.following = following
        self.month_ends: dict[tuple[int, int, int], tuple[int, ...]] = {}

    def on_or_after(self, day: int) -> int:
        """The first working day at or after `day`."""
        return int(self.following[day]) if day < len(self.following) else day

    def is_working(self, day: int) -> bool:
        return bool(self.working[day])

    def month_end_window(self, day: int, count: int = 5) -> tuple[int, ...]:
        """Day numbers of the last `count` working days of `day`'s month."""
        when = _date(day)
        key = (when.year, when.month, count)
        if key not in self.month_ends:
            days = last_working_days(f"{when.year}-{when.month:02d}", count)
            self.month_ends[key] = tuple(_day(end) for end in days)
        return self.month_ends[key]


def _pick(rng: np.random.Generator, options: tuple, weights: tuple[float, ...]):
    """One option, drawn with the given (unnormalized) weights."""
    total = sum(weights)
    point = rng.random() * total
    running = 0.0
    for option, weight in zip(options, weights, strict=True):
        running += weight
        if point < running:
            return option
    return options[-1]


def _round_amount(value: float) -> float:
    step = 5000.0 if value >= 200_000 else 500.0
    return float(max(step, round(value / step) * step))


# Reps and deal creation


def _build_reps(rng: np.random.Generator) -> list[_Rep]:
    """The reps with their deal and activity rates."""
    reps = []
    for team, (_, _, names) in TEAMS.items():
        big = team == BIG_ACCOUNT_TEAM
        for name in names:
            deals = 0.5 if big else 0.7
            deals = {WEAK_REP: 1.2, PILER_REP: 0.62, RUSHER_REP: 0.85}.get(name, deals)
            activities = float(rng.uniform(3.5, 5.5))
            activities = {PILER_REP: 4.0, WEAK_REP: 5.0}.get(name, activities)
            left = _day(LEAVER_LEFT_ON) if name == LEAVER_REP else None
            reps.append(_Rep(name, team, deals, activities, left))
    return reps


def _creation_days(
    rng: np.random.Generator, reps: list[_Rep], cal: _Calendar
) -> list[tuple[int, _Rep]]:
    """(day, rep) for every deal, oldest first; new deals on working days."""
    created = []
    start, end = _day(HISTORY_START), _day(DEMO_AS_OF)
    for order, rep in enumerate(reps):
        last = rep.left_on - 1 if rep.left_on is not None else end
        for day in range(start, last + 1):
            if cal.is_working(day):
                for _ in range(rng.poisson(rep.deals_per_day)):
                    created.append((day, order, rep))
    created.sort(key=lambda item: (item[0], item[1]))
    return [(day, rep) for day, _, rep in created]


class _CustomerBook:
    """Unique Chinese company names, built from city, brand and industry."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.taken: dict[str, str] = {}
        self.by_rep: dict[str, list[tuple[str, str, str]]] = {}

    def new(self, team: str, industry: str) -> tuple[str, str]:
        """(company name, short name) of a customer nobody has yet."""
        cities = TEAMS[team][1]
        suffixes = INDUSTRIES[industry]
        while True:
            city = cities[self.rng.integers(len(cities))]
            brand = BRAND_WORDS[self.rng.integers(len(BRAND_WORDS))]
            trade = suffixes[self.rng.integers(len(suffixes))]
            legal = _pick(
                self.rng, ("有限公司", "股份有限公司", "有限责任公司"), (85, 10, 5)
            )
            name = f"{city}{brand}{trade}{legal}"
            if name not in self.taken:
                self.taken[name] = f"{brand}{trade[:2]}"
                return name, self.taken[name]

    def for_deal(self, rep: str, team: str, industry: str, repeat: bool):
        """(customer, short name, industry): an earlier customer when `repeat`."""
        known = self.by_rep.setdefault(rep, [])
        if repeat and known:
            return known[self.rng.integers(len(known))]
        name, short = self.new(team, industry)
        known.append((name, short, industry))
        return name, short, industry


def _describe_deal(
    deal: _Deal, book: _CustomerBook, names: dict, rng: np.random.Generator
) -> None:
    """Tags, customer and name of a new deal."""
    rep = deal.rep
    deal.source = _pick(rng, SOURCES, (20, 15, 12, 25, 12, 16))
    industry = _pick(rng, tuple(INDUSTRIES), (30, 18, 12, 12, 13, 15))
    repeat = deal.source == "老客户"
    deal.customer, short, deal.industry = book.for_deal(
        rep.name, rep.team, industry, repeat
    )
    deal.intent = _pick(rng, INTENTS, (25, 45, 30))
    deal.customer_type = _pick(rng, CUSTOMER_TYPES, (25, 30, 25, 20))
    deal.product = _pick(rng, tuple(PRODUCTS), (22, 16, 16, 12, 10, 10, 14))
    word = "续约" if repeat else _pick(rng, DEAL_WORDS, (40, 35, 10, 15))
    base = f"{short}{deal.product}{word}"
    count = names.get((deal.customer, base), 0) + 1
    names[(deal.customer, base)] = count
    deal.deal_name = (
        base if count == 1 else f"{base}{'二三四五六'[min(count, 6) - 2]}期"
    )
    deal.note = NOTES[rng.integers(len(NOTES))] if rng.random() < 0.3 else None


# Deal timelines


def _advance_chance(deal: _Deal, stage: str) -> float:
    """Chance the deal moves on from `stage`, given its rep and tags."""
    chance = ADVANCE[stage]
    if stage == "quoted" and deal.rep.name == WEAK_REP:
        chance = WEAK_QUOTED_ADVANCE
    if stage == "deciding" and deal.rep.name == RUSHER_REP:
        chance = 0.9
    factor = 1.08 if deal.rep.name == STEADY_REP else 1.0
    if stage in ("lead", "contacted"):
        factor *= {"A": 1.06, "B": 1.0, "C": 0.9}[deal.intent]
    if deal.source in ("转介绍", "老客户"):
        factor *= 1.08
    penalties = {
        ("比价型", "quoted"): 0.8,
        ("有预算没决策权", "deciding"): 0.75,
        ("有兴趣但犹豫", "contacted"): 0.85,
        ("忙但有需求", "lead"): 0.85,
    }
    factor *= penalties.get((deal.customer_type, stage), 1.0)
    return min(0.97, chance * factor)


def _stall_stage(deal: _Deal, rng: np.random.Generator) -> int | None:
    """Open stage where the rep stops pushing the deal, or None."""
    if deal.rep.name == PILER_REP and deal.created <= _day(date(2026, 10, 10)):
        if rng.random() < 0.72:
            return OPEN_STAGES.index(_pick(rng, OPEN_STAGES[:3], (25, 45, 30)))
    elif deal.rep.name not in SHAPED_REPS and rng.random() < 0.03:
        return int(rng.integers(0, 4))
    return None


def _walk_stages(deal: _Deal, rng: np.random.Generator, cal: _Calendar) -> None:
    """Stage entry days and the outcome: won, lost at a stage, or still open."""
    stall = _stall_stage(deal, rng)
    deal.stage_days = [deal.created]
    slow = 1.3 if deal.customer_type == "有兴趣但犹豫" else 1.0
    for index, stage in enumerate(OPEN_STAGES):
        entered = deal.stage_days[-1]
        if stall == index:
            deal.stalled_from = entered
            return
        dwell = DWELL_DAYS[stage] * slow
        if rng.random() < _advance_chance(deal, stage):
            moved = cal.on_or_after(entered + max(1, round(rng.gamma(2.0, dwell / 2))))
            if index < len(OPEN_STAGES) - 1:
                deal.stage_days.append(moved)
                continue
            deal.outcome, deal.closed = WON, _shape_win_day(deal, moved, rng, cal)
            return
        wait = max(1, round(rng.gamma(2.0, dwell / 2) * 1.3))
        deal.outcome, deal.closed = LOST, cal.on_or_after(entered + wait)
        deal.lost_at = stage
        reason_weights = LOST_REASON_WEIGHTS[stage]
        if stage == "quoted" and deal.rep.name == WEAK_REP:
            reason_weights = (0.7, 0.2, 0.05, 0.0, 0.05, 0.0)
        deal.lost_reason = _pick(rng, LOST_REASONS, reason_weights)
        if rng.random() < 0.06:
            deal.lost_at = None
        return


def _shape_win_day(
    deal: _Deal, won: int, rng: np.random.Generator, cal: _Calendar
) -> int:
    """The rusher holds wins back to the month's last 5 working days."""
    window = cal.month_end_window(won)
    if deal.rep.name == RUSHER_REP and won < window[0] and rng.random() < 0.92:
        return int(window[rng.integers(len(window))])
    if deal.rep.name == STEADY_REP and won >= window[0] and rng.random() < 0.7:
        return cal.on_or_after(max(deal.stage_days[-1] + 1, window[0] - 7))
    return won


def _amount_history(deal: _Deal, rng: np.random.Generator) -> None:
    """Estimate at creation (often blank), the quote, a discount in talks."""
    big = deal.rep.team == BIG_ACCOUNT_TEAM
    median = 250_000 if big else 80_000
    value = median * PRODUCTS[deal.product] * rng.lognormal(0.0, 0.75 if big else 0.7)
    value = float(
        np.clip(value, 50_000 if big else 20_000, 3_000_000 if big else 800_000)
    )
    if rng.random() < 0.6:
        deal.amount_days.append(deal.created)
        deal.amounts.append(_round_amount(value * rng.uniform(0.7, 1.4)))
    if len(deal.stage_days) > 2:
        deal.amount_days.append(deal.stage_days[2])
        deal.amounts.append(_round_amount(value))
    if len(deal.stage_days) > 3 and rng.random() < 0.5:
        deal.amount_days.append(deal.stage_days[3])
        deal.amounts.append(_round_amount(value * rng.uniform(0.85, 0.98)))


def _month_end(day: int, cal: _Calendar) -> int:
    return cal.month_end_window(day, 1)[0]


def _expected_close_history(
    deal: _Deal, rng: np.random.Generator, cal: _Calendar
) -> None:
    """The first expected close date and each later slip while still open."""
    rusher = deal.rep.name == RUSHER_REP
    set_on = deal.created if rng.random() < 0.75 else None
    if set_on is None and len(deal.stage_days) > 1:
        set_on = deal.stage_days[1]
    if set_on is None:
        return
    guess = set_on + int(rng.integers(30, 90))
    if rusher or rng.random() < 0.3:
        guess = _month_end(guess, cal)
    deal.expected_days.append(set_on)
    deal.expected.append(guess)
    stop = min(deal.end, _day(DEMO_AS_OF) + 1)
    while True:
        slipped_on = deal.expected[-1] + int(rng.integers(1, 10))
        if slipped_on >= stop:
            return
        if deal.stalled_from is not None and rng.random() < 0.8:
            return
        guess = slipped_on + int(rng.integers(14, 45))
        deal.expected_days.append(slipped_on)
        deal.expected.append(_month_end(guess, cal) if rusher else guess)


def _build_deals(
    rng: np.random.Generator, reps: list[_Rep], cal: _Calendar
) -> list[_Deal]:
    """Every deal with its timeline, numbered in creation order."""
    book = _CustomerBook(rng)
    names: dict = {}
    deals = []
    for number, (day, rep) in enumerate(_creation_days(rng, reps, cal), start=1):
        deal = _Deal(rep=rep, created=day, deal_id=f"D2026-{number:05d}")
        _describe_deal(deal, book, names, rng)
        _walk_stages(deal, rng, cal)
        _amount_history(deal, rng)
        _expected_close_history(deal, rng, cal)
        deal.owner_days, deal.owners = [day], [rep.name]
        deals.append(deal)
    _reassign(deals, reps, rng, cal)
    _remove_a_few(deals, rng)
    return deals


def _reassign(
    deals: list[_Deal], reps: list[_Rep], rng: np.random.Generator, cal: _Calendar
) -> None:
    """The leaver's open deals go to the successor; a few others change hands."""
    left_on = cal.on_or_after(_day(LEAVER_LEFT_ON))
    for deal in deals:
        if deal.rep.name == LEAVER_REP and deal.end > left_on:
            deal.owner_days.append(left_on)
            deal.owners.append(SUCCESSOR_REP)

    teammates = {
        team: [r.name for r in reps if r.team == team and r.name not in SHAPED_REPS]
        for team in TEAMS
    }
    for team in teammates:
        teammates[team] = [name for name in teammates[team] if name != LEAVER_REP]
    movable = [
        index
        for index, deal in enumerate(deals)
        if deal.rep.name in teammates[deal.rep.team]
        and min(deal.end, _day(DEMO_AS_OF)) - deal.created > 40
    ]
    for index in sorted(rng.choice(movable, size=8, replace=False)):
        deal = deals[index]
        others = [name for name in teammates[deal.rep.team] if name != deal.rep.name]
        moved_on = cal.on_or_after(deal.created + int(rng.integers(10, 25)))
        deal.owner_days.append(moved_on)
        deal.owners.append(others[rng.integers(len(others))])


def _remove_a_few(deals: list[_Deal], rng: np.random.Generator) -> None:
    """Three summer deals are deleted in the CRM and vanish from later exports."""
    summer = (_day(date(2026, 7, 1)), _day(date(2026, 8, 31)))
    candidates = [
        index
        for index, deal in enumerate(deals)
        if summer[0] <= deal.created <= summer[1]
        and deal.rep.name not in SHAPED_REPS
        and len(deal.owners) == 1
        and deal.end - deal.created > 45
    ]
    for index in sorted(rng.choice(candidates, size=3, replace=False)):
        deal = deals[index]
        deal.removed = deal.created + int(rng.integers(21, 42))


# Follow-ups


def _stage_event_rows(deals: list[_Deal], rng: np.random.Generator) -> list[tuple]:
    """A follow-up on each day a deal enters a stage, is won or lost."""
    as_of = _day(DEMO_AS_OF)
    rows = []
    for index, deal in enumerate(deals):
        moves = list(zip(OPEN_STAGES, deal.stage_days, strict=False))
        if deal.closed is not None:
            moves.append((deal.outcome, deal.closed))
        for stage, day in moves:
            if day > as_of or day >= (deal.removed or 10**6):
                continue
            if stage == "lead" and rng.random() < 0.3:
                continue
            kind, summary = STAGE_EVENTS[stage]
            if stage == LOST and deal.lost_reason:
                summary = f"{summary}：{deal.lost_reason}"
            rows.append((day, deal.owner_on(day), index, stage, kind, summary, True))
    return rows


def _segments(deals: list[_Deal], rep: str) -> tuple[np.ndarray, ...]:
    """Open spells of the rep's deals: (start, end, deal index, weight) arrays."""
    weights = {"lead": 1.0, "contacted": 1.5, "quoted": 2.0, "negotiating": 2.5}
    starts, ends, indexes, spell_weights = [], [], [], []
    last = _day(DEMO_AS_OF) + 1
    for index, deal in enumerate(deals):
        if rep not in deal.owners:
            continue
        end = min(deal.end, last)
        bounds = set(deal.stage_days) | set(deal.owner_days)
        if deal.stalled_from is not None:
            bounds.add(deal.stalled_from + 7)
        points = sorted(day for day in bounds if deal.created <= day < end) + [end]
        for start, stop in zip(points, points[1:], strict=False):
            if deal.owner_on(start) != rep:
                continue
            weight = weights.get(deal.stage_on(start), 2.5)
            if deal.stalled_from is not None and start >= deal.stalled_from + 7:
                weight = 0.03
            starts.append(start)
            ends.append(stop)
            indexes.append(index)
            spell_weights.append(weight)
    return (
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        np.array(indexes, dtype=np.int64),
        np.array(spell_weights, dtype=float),
    )


def _week_number(day: int) -> int:
    """Weeks counted Monday to Sunday from the Monday before _EPOCH."""
    return (day + _EPOCH.weekday()) // 7


def _daily_quota(
    rep: _Rep, day: int, cal: _Calendar, phase: int, rng: np.random.Generator
) -> int:
    """How many follow-ups the rep logs on `day`: their rhythm."""
    if rep.left_on is not None and day >= rep.left_on:
        return 0
    working = cal.is_working(day)
    weekday = _date(day).weekday() < 5
    if rep.name == STEADY_REP:
        if working:
            return int(rng.integers(6, 8))
        return int(rng.integers(3, 5)) if weekday else 0
    if not working:
        return int(rng.poisson(0.1))
    if rep.name == RUSHER_REP:
        rushing = day >= cal.month_end_window(day, 7)[0]
        return int(rng.poisson(11.0 if rushing else 2.5))
    if rep.name == WAVE_REP:
        hot = (_week_number(day) // 2 + phase) % 2 == 0
        return int(rng.poisson(12.0 if hot else 1.0))
    return int(rng.poisson(rep.activities_per_day))


def _filler_rows(
    deals: list[_Deal],
    reps: list[_Rep],
    events: list[tuple],
    rng: np.random.Generator,
    cal: _Calendar,
) -> list[tuple]:
    """Everyday follow-ups that fill each rep's daily rhythm on open deals."""
    logged: dict[tuple[str, int], int] = {}
    for day, owner, *_ in events:
        logged[(owner, day)] = logged.get((owner, day), 0) + 1
    phase = int(rng.integers(0, 2))
    rows = []
    for rep in reps:
        starts, ends, indexes, weights = _segments(deals, rep.name)
        for day in range(_day(HISTORY_START), _day(DEMO_AS_OF) + 1):
            wanted = _daily_quota(rep, day, cal, phase, rng)
            wanted -= logged.get((rep.name, day), 0)
            if wanted <= 0:
                continue
            spells = np.flatnonzero((starts <= day) & (day < ends))
            if not len(spells):
                continue
            chances = weights[spells] / weights[spells].sum()
            for spell in rng.choice(spells, size=wanted, p=chances):
                deal = deals[indexes[spell]]
                stage = deal.stage_on(day)
                kind = _pick(rng, ACTIVITY_KINDS, KIND_WEIGHTS[stage])
                summary = SUMMARIES[kind][rng.integers(len(SUMMARIES[kind]))]
                if not cal.is_working(day):
                    kind, summary = "message", HOLIDAY_MESSAGE
                index = int(indexes[spell])
                rows.append((day, rep.name, index, stage, kind, summary, False))
    return rows


def _build_activities(
    deals: list[_Deal], reps: list[_Rep], rng: np.random.Generator, cal: _Calendar
) -> pd.DataFrame:
    """The follow-up log; also records each deal's touches for the snapshots."""
    events = _stage_event_rows(deals, rng)
    rows = events + _filler_rows(deals, reps, events, rng, cal)
    minutes = rng.integers(9 * 60, 18 * 60 + 30, size=len(rows))
    timed = sorted(
        zip(rows, minutes.tolist(), strict=True),
        key=lambda item: (item[0][0], item[1], item[0][2]),
    )
    columns: dict[str, list] = {name: [] for name in field_names(Kind.ACTIVITIES)}
    for (day, owner, index, stage, kind, summary, moved), minute in timed:
        deal = deals[index]
        effective = moved or rng.random() < EFFECTIVE_SHARE[kind]
        if stage in NEXT_STEPS:
            options = NEXT_STEPS[stage]
            step = options[rng.integers(len(options))]
            due = cal.on_or_after(day + int(rng.integers(1, 8)))
        else:
            step, due = ("安排交付上线", day + 7) if stage == WON else (None, _NONE)
        deal.touch_days.append(day)
        deal.touch_steps.append((step, due))
        columns["activity_at"].append(day * 1440 + minute)
        columns["owner"].append(owner)
        columns["customer"].append(deal.customer)
        columns["deal_id"].append(deal.deal_id)
        columns["kind"].append(kind)
        columns["effective"].append(bool(effective))
        columns["summary"].append(summary)
        columns["next_step"].append(step)
        columns["next_step_due"].append(due)
    stamps = np.array(columns["activity_at"], dtype="timedelta64[m]")
    frame = _typed_frame(columns, dates=("next_step_due",), flags=("effective",))
    frame["activity_at"] = (np.datetime64(_EPOCH, "m") + stamps).astype(
        "datetime64[us]"
    )
    return frame


# Snapshots


def _as_dates(days: list[int]) -> np.ndarray:
    """Day numbers to datetime64[us] at midnight; _NONE becomes NaT."""
    numbers = np.array(days, dtype=np.int64)
    stamps = (np.datetime64(_EPOCH, "D") + numbers.astype("timedelta64[D]")).astype(
        "datetime64[us]"
    )
    stamps[numbers == _NONE] = np.datetime64("NaT")
    return stamps


def _typed_frame(
    columns: dict[str, list],
    dates: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
) -> pd.DataFrame:
    """A frame from column lists, typed like the importer's frames.

    Day numbers become datetime64[us] dates, `numbers` floats, `flags` bools;
    every other column is text: object dtype holding str or None.
    """
    typed: dict[str, object] = {}
    for name, values in columns.items():
        if name in dates:
            typed[name] = _as_dates(values)
        elif name in numbers:
            typed[name] = np.array(values, dtype=float)
        elif name in flags:
            typed[name] = np.array(values, dtype=bool)
        else:
            typed[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(typed)


def _latest(days: list[int], values: list, as_of: int, default=None):
    position = bisect(days, as_of)
    return values[position - 1] if position else default


def _project(deals: list[_Deal], as_of: date) -> pd.DataFrame:
    """The deals frame as the export of `as_of` shows it."""
    day = _day(as_of)
    rows = []
    for deal in deals:
        if deal.created > day:
            break
        if deal.removed is not None and deal.removed <= day:
            continue
        stage = deal.stage_on(day)
        lost, closed = stage == LOST, stage in (WON, LOST)
        step, due = _latest(deal.touch_days, deal.touch_steps, day, (None, _NONE))
        rows.append(
            (
                deal.deal_id,
                deal.deal_name,
                deal.customer,
                deal.owner_on(day),
                deal.rep.team,
                stage,
                _latest(deal.amount_days, deal.amounts, day, np.nan),
                "CNY",
                np.nan,
                deal.created,
                _latest(deal.expected_days, deal.expected, day, _NONE),
                deal.closed if closed else _NONE,
                deal.lost_reason if lost else None,
                deal.lost_at if lost else None,
                deal.source,
                deal.intent,
                deal.industry,
                deal.customer_type,
                deal.product,
                None if closed else step,
                _NONE if closed else due,
                _latest(deal.touch_days, deal.touch_days, day, _NONE),
                deal.note,
            )
        )
    columns = dict(zip(DEAL_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    return _typed_frame(
        columns,
        dates=(
            "created_at",
            "expected_close",
            "closed_at",
            "next_step_due",
            "last_touch_at",
        ),
        numbers=("amount", "win_probability"),
    )


def _snapshot_dates() -> list[date]:
    """Every Friday from FIRST_SNAPSHOT to DEMO_AS_OF."""
    weeks = (DEMO_AS_OF - FIRST_SNAPSHOT).days // 7
    return [FIRST_SNAPSHOT + timedelta(weeks=week) for week in range(weeks + 1)]


# Targets and reps


def _round_target(value: float) -> float:
    return float(max(100_000, round(value / 50_000) * 50_000))


def _build_targets(
    final: pd.DataFrame, reps: list[_Rep], rng: np.random.Generator
) -> pd.DataFrame:
    """Monthly targets per rep, June to November (the leaver's to September).

    Each rep's target is their mean monthly won amount (June–October) times a
    stretch factor, in steps of 50,000. November is then set so AHEAD_REPS are
    ahead of pace on DEMO_AS_OF, BEHIND_REPS behind, and the team as a whole
    a little behind (its forecast can still make it).
    """
    won = final[final["stage"] == WON]
    months = won["closed_at"].dt.strftime("%Y-%m")
    by_month = won.groupby([won["owner"], months])["amount"].sum()
    pace = month_pace("2026-11", DEMO_AS_OF).pace
    targets: dict[tuple[str, str], float] = {}
    for rep in reps:
        history = [by_month.get((rep.name, f"2026-{m:02d}"), 0.0) for m in range(6, 11)]
        base = max(float(np.mean(history)), 150_000.0)
        last_month = 9 if rep.name == LEAVER_REP else 11
        for number in range(6, last_month + 1):
            target = _round_target(base * rng.uniform(1.0, 1.3))
            if number == 11:
                target = _november_target(rep.name, target, by_month, pace, rng)
            targets[(rep.name, f"2026-{number:02d}")] = target
    _hold_team_behind(targets, by_month, pace)
    teams = {rep.name: rep.team for rep in reps}
    columns = {
        "owner": [name for name, _ in targets],
        "team": [teams[name] for name, _ in targets],
        "month": [month for _, month in targets],
        "target": list(targets.values()),
    }
    return _typed_frame(columns, numbers=("target",))


def _november_target(
    rep: str, target: float, by_month: pd.Series, pace: float, rng: np.random.Generator
) -> float:
    """Set November so AHEAD_REPS are ahead of pace and BEHIND_REPS behind."""
    november = float(by_month.get((rep, "2026-11"), 0.0))
    expected = target * pace
    if rep in AHEAD_REPS and november > 0 and november < 1.05 * expected:
        return _round_target(november / pace / rng.uniform(1.1, 1.3))
    if rep in BEHIND_REPS and november > 0.8 * expected:
        raised = november / pace / rng.uniform(0.5, 0.75)
        return _round_target(min(raised, 3 * target))
    return target


def _hold_team_behind(
    targets: dict[tuple[str, str], float], by_month: pd.Series, pace: float
) -> None:
    """Raise November targets outside AHEAD_REPS until the team is behind pace.

    The team's expected-by-now (Σ targets × pace) is lifted to 1.08 × its
    November won amount, so the home page opens on a gap to close.
    """
    november = {name: value for (name, m), value in targets.items() if m == "2026-11"}
    won = sum(by_month.get((name, "2026-11"), 0.0) for name in november)
    shortfall = won * 1.08 / pace - sum(november.values())
    raised = [name for name in november if name not in AHEAD_REPS]
    if shortfall <= 0 or not raised:
        return
    scale = 1 + shortfall / sum(november[name] for name in raised)
    for name in raised:
        targets[(name, "2026-11")] = _round_target(november[name] * scale)


def _build_rep_table(reps: list[_Rep]) -> pd.DataFrame:
    columns = {
        "name": [rep.name for rep in reps],
        "team": [rep.team for rep in reps],
        "supervisor": [TEAMS[rep.team][0] for rep in reps],
        "active": [rep.left_on is None for rep in reps],
        "left_on": [_NONE if rep.left_on is None else rep.left_on for rep in reps],
    }
    return _typed_frame(columns, dates=("left_on",), flags=("active",))


def build_demo(seed: int = DEFAULT_SEED) -> DemoData:
    """Build the whole demo data set; the same seed gives identical frames."""
    rng = np.random.default_rng(seed)
    cal = _Calendar()
    reps = _build_reps(rng)
    deals = _build_deals(rng, reps, cal)
    activities = _build_activities(deals, reps, rng, cal)
    snapshots = [(as_of, _project(deals, as_of)) for as_of in _snapshot_dates()]
    targets = _build_targets(snapshots[-1][1], reps, rng)
    logger.info(
        "demo built: %d deals, %d follow-ups, %d snapshots",
        len(deals),
        len(activities),
        len(snapshots),
    )
    return DemoData(snapshots, activities, targets, _build_rep_table(reps))
