"""The built-in question library, written for cxculture (no licensed instruments).

The items are frozen here, not imported from app code, so this migration always loads the same
library. Engagement items make the engagement index; eNPS is the one 0-10 item.
"""

from django.db import migrations

AGREEMENT = "agreement"
SCALE_0_10 = "scale_0_10"

# (code, driver, kind, text)
BUILTIN_QUESTIONS = [
    ("eng-proud", "engagement", AGREEMENT, "I am proud to work here."),
    ("eng-motivated", "engagement", AGREEMENT, "My work motivates me to go beyond what is asked of me."),
    ("eng-stay", "engagement", AGREEMENT, "I see myself still working here in two years' time."),
    ("emp-bend-policy", "empowerment", AGREEMENT, "I am trusted to bend a policy when it is right for the customer."),
    ("emp-decide", "empowerment", AGREEMENT, "I can decide how to solve a customer's problem without asking for permission."),
    ("emp-backed", "empowerment", AGREEMENT, "When I make a judgement call for a customer, I am backed rather than blamed."),
    ("ena-tools", "enablement", AGREEMENT, "I have the tools and systems I need to resolve customer issues quickly."),
    ("ena-process", "enablement", AGREEMENT, "Our processes help me serve customers rather than get in the way."),
    ("ena-backoffice", "enablement", AGREEMENT, "I get the help I need from other teams to solve a customer's problem."),
    ("rec-noticed", "recognition", AGREEMENT, "When I do something good for a customer, it gets noticed."),
    ("rec-valued", "recognition", AGREEMENT, "I feel valued for the work I do."),
    ("lea-live-it", "leadership", AGREEMENT, "Our leaders put customers first in what they do, not just in what they say."),
    ("lea-trust", "leadership", AGREEMENT, "I trust the decisions of our leadership team."),
    ("lea-manager", "leadership", AGREEMENT, "My manager helps me do right by customers."),
    ("cus-outcome", "customer_focus", AGREEMENT, "In my team, the customer's outcome matters more than our internal targets."),
    ("cus-voice", "customer_focus", AGREEMENT, "I regularly see what customers say about the service we give them."),
    ("cus-root-cause", "customer_focus", AGREEMENT, "When something goes wrong for customers, we fix the cause, not just the symptom."),
    ("gro-coaching", "growth", AGREEMENT, "I get regular coaching that helps me get better at my job."),
    ("gro-path", "growth", AGREEMENT, "I can see a path to grow my career here."),
    ("wel-workload", "wellbeing", AGREEMENT, "My workload is manageable."),
    ("wel-switch-off", "wellbeing", AGREEMENT, "I can switch off from work when I need to."),
    ("wel-speak-up", "wellbeing", AGREEMENT, "I feel safe to speak up when something is not right."),
    ("bia-action", "belief_in_action", AGREEMENT, "I believe action will be taken on the results of this survey."),
    ("bia-seen-change", "belief_in_action", AGREEMENT, "I have seen things change because of feedback we gave."),
    ("enps", "enps", SCALE_0_10, "How likely are you to recommend working here to a friend?"),
]


def load_builtin_questions(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    for position, (code, driver, kind, text) in enumerate(BUILTIN_QUESTIONS, start=1):
        Question.objects.update_or_create(
            code=code,
            defaults={
                "driver": driver,
                "kind": kind,
                "text": text,
                "is_builtin": True,
                "position": position,
            },
        )


def unload_builtin_questions(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    codes = [code for code, *_ in BUILTIN_QUESTIONS]
    # Questions already asked in a run are kept (answers point at them).
    Question.objects.filter(code__in=codes, is_builtin=True, runs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_questions_programs_runs_responses")]

    operations = [migrations.RunPython(load_builtin_questions, unload_builtin_questions)]
