"""Treatment plans: the default file, loading errors that name the place, scheduling, rendering."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contact_service.domain.contact import Channel
from contact_service.domain.money import format_money
from contact_service.domain.plans import (
    PlannedContact,
    PlanStep,
    StagePlan,
    TreatmentPlan,
    first_contacts,
    next_contact,
    planned_contacts,
    rezoned,
)
from contact_service.plans import DEFAULT_PLAN, MessageFacts, PlanError, Renderer, load_plan

NY = "America/New_York"
FACTS = MessageFacts("Example Bank", "1234", 12, 1_234_567, "CNY", 5_000)

GOOD = """\
languages: [zh-CN, en]
default_language: zh-CN
opt_out: {zh-CN: "回复TD退订", en: "Reply STOP to opt out."}
stages:
  M1:
    steps:
      - {channel: sms, day: 0, at: "10:00", template: m1_reminder_sms, priority: 50}
      - {channel: email, day: 2, at: "10:00", template: m1_reminder_email, priority: 50}
"""


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    shutil.copytree(DEFAULT_PLAN.with_name("templates"), tmp_path / "templates")
    return tmp_path


def write(plan_dir: Path, text: str) -> Path:
    path = plan_dir / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return caught.value.problems


class TestDefaultPlan:
    def test_it_follows_the_seeds(self) -> None:
        loaded = load_plan()
        channels = {
            stage: {step.channel for step in plan.steps} for stage, plan in loaded.plan.stages.items()
        }
        assert channels["M1"] == {Channel.SMS, Channel.EMAIL, Channel.PUSH, Channel.IVR}
        assert channels["M2"] == {Channel.CALL, Channel.SMS}
        assert Channel.CALL in channels["M3"]
        assert loaded.languages == ("zh-CN", "en")

    def test_m3_calls_more_often_than_m2(self) -> None:
        stages = load_plan().plan.stages
        m2 = [s.every_days for s in stages["M2"].steps if s.channel is Channel.CALL]
        m3 = [s.every_days for s in stages["M3"].steps if s.channel is Channel.CALL]
        assert min(d for d in m3 if d) < min(d for d in m2 if d)


class TestLoadingErrors:
    def test_a_good_file_loads(self, plan_dir: Path) -> None:
        loaded = load_plan(write(plan_dir, GOOD))
        assert [step.day for step in loaded.plan.stages["M1"].steps] == [0, 2]

    def test_a_bad_channel_names_file_line_and_field(self, plan_dir: Path) -> None:
        path = write(plan_dir, GOOD.replace("channel: email", "channel: fax"))
        (problem,) = problems(path)
        assert problem.startswith(f"{path}:8:")
        assert "stages.M1.steps[1].channel" in problem

    def test_an_unquoted_time_is_refused_not_read_as_minutes(self, plan_dir: Path) -> None:
        path = write(
            plan_dir,
            GOOD.replace('at: "10:00", template: m1_reminder_sms', "at: 10:00, template: m1_reminder_sms"),
        )
        (problem,) = problems(path)
        assert f"{path}:7:" in problem and "steps[0].at" in problem and "quoted" in problem

    def test_missing_fields_extra_fields_and_bad_numbers(self, plan_dir: Path) -> None:
        text = GOOD.replace("priority: 50}", "priority: 500}", 1).replace("day: 2,", "day: -1, colour: red,")
        found = problems(write(plan_dir, text))
        assert any("steps[0].priority" in p for p in found)
        assert any("steps[1].day" in p for p in found)
        assert any("steps[1].colour" in p for p in found)

    def test_an_unknown_stage_and_a_missing_template(self, plan_dir: Path) -> None:
        text = GOOD.replace("  M1:", "  M7:").replace("m1_reminder_email", "m1_missing")
        found = problems(write(plan_dir, text))
        assert any(":5:" in p and "stages.M7" in p and "unknown stage" in p for p in found)
        assert any("steps[1].template" in p and "zh-CN/m1_missing.j2" in p for p in found)
        assert any("en/m1_missing.j2" in p for p in found)

    def test_a_template_that_does_not_compile_or_names_an_unknown_fact(self, plan_dir: Path) -> None:
        (plan_dir / "templates" / "en" / "m1_reminder_sms.j2").write_text("{{ amount ", encoding="utf-8")
        (plan_dir / "templates" / "zh-CN" / "m1_reminder_sms.j2").write_text(
            "{{ balance }}", encoding="utf-8"
        )
        found = problems(write(plan_dir, GOOD))
        assert any("en/m1_reminder_sms.j2 line 1" in p for p in found)
        assert any("zh-CN/m1_reminder_sms.j2" in p and "balance" in p for p in found)

    def test_languages_need_opt_out_lines_and_the_default_among_them(self, plan_dir: Path) -> None:
        text = GOOD.replace('en: "Reply STOP to opt out."', "").replace(
            "default_language: zh-CN", "default_language: fr"
        )
        found = problems(
            write(
                plan_dir, text.replace('opt_out: {zh-CN: "回复TD退订", }', 'opt_out: {zh-CN: "回复TD退订"}')
            )
        )
        assert any("default_language" in p for p in found)
        assert any("opt-out line for language en" in p for p in found)

    def test_broken_yaml_and_a_missing_file(self, plan_dir: Path) -> None:
        path = write(plan_dir, GOOD + "  - [unclosed\n")
        (problem,) = problems(path)
        assert problem.startswith(f"{path}:") and "not valid YAML" in problem
        (problem,) = problems(plan_dir / "absent.yaml")
        assert "cannot read" in problem


class TestSchedule:
    plan = TreatmentPlan(
        {
            "M1": StagePlan(
                "M1",
                (
                    PlanStep(Channel.SMS, 0, "a", 50, time(10)),
                    PlanStep(Channel.IVR, 2, "b", 40, time(18, 30), every_days=3, until_day=8),
                    PlanStep(Channel.EMAIL, 0, "c", 60, time(10)),
                ),
            )
        }
    )

    def test_days_count_from_the_local_day_of_entry_at_local_times_across_dst(self) -> None:
        entered = datetime(2026, 3, 6, 14, tzinfo=ZoneInfo(NY))  # EST; DST starts on the 8th
        contacts = planned_contacts(self.plan, "M1", entered, NY, until=datetime(2026, 4, 1, tzinfo=UTC))
        assert [(c.channel, c.due_at.astimezone(ZoneInfo(NY)).strftime("%m-%d %H:%M")) for c in contacts] == [
            (Channel.IVR, "03-08 18:30"),
            (Channel.IVR, "03-11 18:30"),
            (Channel.IVR, "03-14 18:30"),
        ]
        # 10:00 on the day of entry had passed at 14:00; 18:30 EDT is 22:30 UTC.
        assert contacts[0].due_at == datetime(2026, 3, 8, 22, 30, tzinfo=UTC)

    def test_same_time_higher_priority_first_and_until_cuts_repeats(self) -> None:
        entered = datetime(2026, 3, 2, 8, tzinfo=ZoneInfo(NY))
        contacts = planned_contacts(
            self.plan, "M1", entered, NY, until=datetime(2026, 3, 5, 23, tzinfo=ZoneInfo(NY))
        )
        assert [(c.template, c.priority) for c in contacts] == [("c", 60), ("a", 50), ("b", 40)]

    def test_a_stage_without_a_plan_schedules_nothing(self) -> None:
        assert (
            planned_contacts(
                self.plan, "M2", datetime(2026, 3, 2, tzinfo=UTC), NY, datetime(2026, 4, 2, tzinfo=UTC)
            )
            == []
        )

    def test_the_default_m2_plan_makes_call_tasks_every_three_days(self) -> None:
        plan = load_plan().plan
        entered = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
        until = datetime(2026, 3, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
        calls = [
            c
            for c in planned_contacts(plan, "M2", entered, "Asia/Shanghai", until)
            if c.channel is Channel.CALL
        ]
        assert [c.due_at.astimezone(ZoneInfo("Asia/Shanghai")).day for c in calls] == [2, 5, 8, 11]


@st.composite
def plan_steps(draw: st.DrawFn) -> PlanStep:
    day = draw(st.integers(0, 20))
    every = draw(st.none() | st.integers(1, 10))
    until = draw(st.none() | st.integers(day, 40)) if every else None
    at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
    channel = draw(st.sampled_from([Channel.SMS, Channel.EMAIL, Channel.CALL]))
    return PlanStep(channel, day, "t", draw(st.integers(0, 100)), at, every_days=every, until_day=until)


class TestOneContactOfEachStepAtATime:
    """The service stores one contact per step and lays out the next when it is done with: when
    nothing is cancelled, that makes exactly the contacts ``planned_contacts`` lists."""

    @given(
        steps=st.lists(plan_steps(), min_size=1, max_size=5),
        entered=st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
        ),
        zone=st.sampled_from(["UTC", "Asia/Shanghai", NY, "Europe/London"]),
        horizon_days=st.integers(1, 60),
    )
    def test_the_first_of_each_step_then_each_ones_next_are_the_whole_plan(
        self, steps: list[PlanStep], entered: datetime, zone: str, horizon_days: int
    ) -> None:
        plan = TreatmentPlan({"M1": StagePlan("M1", tuple(steps))})
        until = entered + timedelta(days=horizon_days)
        window = (entered, zone, until)
        stored: list[PlannedContact] = []
        pending = first_contacts(plan, "M1", *window)
        assert len({c.step for c in pending}) == len(pending), "one contact of each step at a time"
        while pending:
            done = min(pending, key=lambda c: (c.due_at, c.step))  # the sender takes them as they fall due
            pending.remove(done)
            stored.append(done)
            following = next_contact(plan, "M1", *window, step=done.step, after=done.due_at)
            if following is not None:
                assert following.step == done.step and following.due_at > done.due_at
                pending.append(following)

        assert sorted(stored, key=_order) == sorted(planned_contacts(plan, "M1", *window), key=_order)

    def test_the_default_m1_plan_keeps_five_contacts_where_it_schedules_nine(self) -> None:
        plan = load_plan().plan
        entered = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
        window = (entered, "Asia/Shanghai", entered + timedelta(days=30))
        assert len(planned_contacts(plan, "M1", *window)) == 9
        first = first_contacts(plan, "M1", *window)
        assert [(c.channel, c.due_at.astimezone(ZoneInfo("Asia/Shanghai")).day) for c in first] == [
            (Channel.SMS, 2),
            (Channel.EMAIL, 2),
            (Channel.PUSH, 3),
            (Channel.SMS, 9),
            (Channel.IVR, 12),
        ]
        weekly = first[3]
        after = next_contact(plan, "M1", *window, step=weekly.step, after=weekly.due_at)
        assert after is not None and after.due_at - weekly.due_at == timedelta(days=7)
        last = datetime(2026, 3, 30, 10, tzinfo=ZoneInfo("Asia/Shanghai"))  # the 28th day's
        assert next_contact(plan, "M1", *window, step=weekly.step, after=last) is None


def _order(contact: PlannedContact) -> tuple[datetime, int]:
    return contact.due_at, contact.step


ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Pacific/Kiritimati", "Etc/GMT+12"]


class TestRezoned:
    """A plan laid out before the debtor's timezone was known moves to it by local day and hour."""

    def test_keeps_the_local_day_and_hour(self) -> None:
        ten_in_utc = datetime(2026, 3, 2, 10, tzinfo=UTC)
        moved = rezoned(ten_in_utc, "UTC", "America/New_York")
        assert moved.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) == datetime(2026, 3, 2, 10)
        assert moved == datetime(2026, 3, 2, 15, tzinfo=UTC)

    def test_a_wall_clock_in_a_dst_gap_lands_where_the_gap_ends(self) -> None:
        half_past_two = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)  # New York skips 02:00-03:00 that night
        moved = rezoned(half_past_two, "UTC", "America/New_York")
        assert moved.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) == datetime(2026, 3, 8, 3)

    @given(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
        st.sampled_from(ZONES),
        st.sampled_from(ZONES),
    )
    def test_outside_gaps_the_local_wall_clock_is_kept(self, due: datetime, old: str, new: str) -> None:
        moved = rezoned(due, old, new)
        before = due.astimezone(ZoneInfo(old)).replace(tzinfo=None)
        after = moved.astimezone(ZoneInfo(new)).replace(tzinfo=None)
        assert after == before or (new != "UTC" and timedelta(0) < after - before <= timedelta(hours=1))


class TestRendering:
    renderer = Renderer(load_plan())

    @pytest.mark.parametrize("language", ["zh-CN", "en"])
    def test_m1_reminders_state_amount_fees_and_the_credit_record(self, language: str) -> None:
        body = self.renderer.render("m1_reminder_sms", Channel.SMS, FACTS, language).body
        if language == "zh-CN":
            assert "¥12,345.67" in body and "¥50.00" in body and "征信" in body
        else:
            assert "CNY 12,345.67" in body and "CNY 50.00" in body and "credit record" in body

    @pytest.mark.parametrize("language", ["zh-CN", "en"])
    def test_sms_and_email_end_with_the_opt_out_line_and_others_do_not(self, language: str) -> None:
        opt_out = load_plan().opt_out[language]
        sms = self.renderer.render("m1_reminder_sms", Channel.SMS, FACTS, language)
        email = self.renderer.render("m1_reminder_email", Channel.EMAIL, FACTS, language)
        push = self.renderer.render("m1_reminder_push", Channel.PUSH, FACTS, language)
        assert sms.body.endswith(opt_out) and email.body.endswith(opt_out)
        assert opt_out not in push.body
        assert email.subject and "Subject" not in email.body

    def test_languages_fall_back_by_base_then_to_the_default(self) -> None:
        assert self.renderer.render("m1_reminder_push", Channel.PUSH, FACTS, "en-US").language == "en"
        assert self.renderer.render("m1_reminder_push", Channel.PUSH, FACTS, "zh").language == "zh-CN"
        assert self.renderer.render("m1_reminder_push", Channel.PUSH, FACTS, "fr").language == "zh-CN"
        assert self.renderer.render("m1_reminder_push", Channel.PUSH, FACTS, None).language == "zh-CN"

    def test_no_fees_leaves_the_fees_clause_out(self) -> None:
        facts = MessageFacts("Example Bank", "1234", 3, 10_000, "CNY")
        body = self.renderer.render("m1_reminder_sms", Channel.SMS, facts, "en").body
        assert "fees so far" not in body


class TestMoney:
    @pytest.mark.parametrize(
        ("minor", "currency", "language", "text"),
        [
            (1_234_567, "CNY", "zh-CN", "¥12,345.67"),
            (5, "CNY", "en", "CNY 0.05"),
            (1_234_567, "JPY", "en", "JPY 1,234,567"),
            (1_234, "KWD", "en", "KWD 1.234"),
            (-250, "USD", "zh-CN", "-$2.50"),
            (10**15, "CNY", "en", "CNY 10,000,000,000,000.00"),
        ],
    )
    def test_formats_minor_units_exactly(self, minor: int, currency: str, language: str, text: str) -> None:
        assert format_money(minor, currency, language) == text

    def test_refuses_floats(self) -> None:
        with pytest.raises(TypeError):
            format_money(12.5, "CNY")  # type: ignore[arg-type]
