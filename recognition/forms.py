import uuid

from django import forms
from django.db.models import Q, QuerySet

from cxculture.people.models import CompanyValue, Employee, Policy, Team
from cxculture.people.selectors import has_teams_below

from .models import PolicyException, Reaction, Recognition


def _new_key() -> str:
    return uuid.uuid4().hex


class OnceForm(forms.Form):
    """A form whose submission is done at most once: a double click or a resubmitted page
    carries the same key (cxculture.lib.idempotency)."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", _new_key())


def person_label(person: Employee) -> str:
    team = f" · {person.team.name}" if person.team else ""
    return f"{person.display_name}{team}"


class PersonChoiceField(forms.ModelMultipleChoiceField):
    """Validates against every colleague, but renders only the `offered` ones as checkboxes.

    An organisation of 20,000 cannot be one select: the form offers the people found by a
    search (`GiveForm(who=...)`) and the people already chosen.
    """

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Employee) -> str:  # type: ignore[override]
        return person_label(obj)

    def offer(self, people: list[Employee]) -> None:
        self.widget.choices = [(person.pk, person_label(person)) for person in people]


MAX_OFFERED = 20


class GiveForm(OnceForm):
    receivers = PersonChoiceField(
        queryset=Employee.objects.none(),
        help_text="Search by name, team or title, then tick one or more colleagues.",
    )
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="What did they do for a customer or a colleague?",
    )
    values = forms.ModelMultipleChoiceField(
        queryset=CompanyValue.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    points_per_receiver = forms.IntegerField(
        min_value=0, initial=0, label="Points for each person", required=False
    )
    visibility = forms.ChoiceField(
        choices=Recognition.Visibility.choices,
        initial=Recognition.Visibility.ORGANISATION,
        widget=forms.RadioSelect,
        label="Who can see it",
    )
    spot_award = forms.BooleanField(
        required=False, label="Spot award: take the points from my reward budget"
    )

    def __init__(
        self,
        *args,
        people: QuerySet[Employee],
        values: QuerySet[CompanyValue],
        is_manager: bool,
        found: QuerySet[Employee] | None = None,
        **kwargs,
    ):
        """`people`: who may be recognised (validation); `found`: a search's matches to offer."""
        super().__init__(*args, **kwargs)
        receivers: PersonChoiceField = self.fields["receivers"]  # type: ignore[assignment]
        receivers.queryset = people
        chosen = self.data.getlist("receivers") if self.is_bound else []  # type: ignore[attr-defined]
        receivers.offer(offered_people(people, chosen, found))
        self.fields["values"].queryset = values  # type: ignore[attr-defined]
        if not is_manager:
            del self.fields["spot_award"]


def offered_people(
    people: QuerySet[Employee], chosen: list[str], found: QuerySet[Employee] | None
) -> list[Employee]:
    """The people already ticked (kept across searches), then up to 20 matches: 0-2 queries."""
    ids = [int(raw) for raw in chosen if str(raw).isdigit()][:MAX_OFFERED]
    kept = list(people.filter(pk__in=ids)) if ids else []
    matches = list(found[:MAX_OFFERED]) if found is not None else []
    seen = {person.pk for person in kept}
    return kept + [person for person in matches if person.pk not in seen]


class FeedFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    value = forms.ModelChoiceField(queryset=CompanyValue.objects.none(), required=False)
    person = forms.ModelChoiceField(queryset=Employee.objects.none(), required=False)

    def __init__(self, *args, teams, values, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["value"].queryset = values  # type: ignore[attr-defined]
        # Nor a select of every team (2,000): the departments (teams with teams below them,
        # whose subtree the filter covers) and the team chosen, e.g. from a link (?team=<id>).
        raw_team = str(self.data.get("team", "")) if self.is_bound else ""
        listed = Q(has_teams_below())
        if raw_team.isdigit():
            listed |= Q(pk=int(raw_team))
        self.fields["team"].widget.choices = [
            ("", "Any team"),
            *teams.filter(listed).values_list("pk", "name"),
        ]
        person: forms.ModelChoiceField = self.fields["person"]  # type: ignore[assignment]
        person.queryset = people
        # Not a select of everyone (20,000 at enterprise size): the person filter comes from a
        # link (?person=<id>); the select offers that person and "Anyone".
        raw = str(self.data.get("person", "")) if self.is_bound else ""
        chosen = list(people.filter(pk=int(raw))) if raw.isdigit() else []
        person.widget.choices = [("", "Anyone"), *((p.pk, p.display_name) for p in chosen)]


class ReactionForm(forms.Form):
    emoji = forms.ChoiceField(choices=[(e, e) for e in Reaction.EMOJI])


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)


class BudgetForm(forms.Form):
    manager = forms.ModelChoiceField(queryset=Employee.objects.none())
    monthly_points = forms.IntegerField(min_value=0, max_value=1_000_000)

    def __init__(self, *args, managers: QuerySet[Employee], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = managers  # type: ignore[attr-defined]


class RewardForm(forms.Form):
    """A reward of the catalogue: its name, price in points and stock (empty: unlimited)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    cost_points = forms.IntegerField(min_value=1, max_value=1_000_000, label="Price in points")
    stock = forms.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text="How many are left; leave empty for unlimited.",
    )


class ExceptionForm(OnceForm):
    policy = forms.ModelChoiceField(queryset=Policy.objects.none(), label="Policy you bent")
    customer_ref = forms.CharField(max_length=200, required=False, label="Customer reference")
    interaction_ref = forms.CharField(
        max_length=200,
        required=False,
        label="Interaction reference",
        help_text="Ticket, call or chat id. Give this, the customer reference, or both.",
    )
    occurred_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="When"
    )
    what_was_done = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What you did")
    why = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Why it was right for the customer"
    )
    cost = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, initial=0)

    def __init__(self, *args, policies: QuerySet[Policy], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = policies  # type: ignore[attr-defined]

    def clean(self):
        data = super().clean() or {}
        if not data.get("customer_ref") and not data.get("interaction_ref"):
            self.add_error("customer_ref", "Give the customer or the interaction reference.")
        return data


class ReviewForm(OnceForm):
    decision = forms.ChoiceField(
        choices=[
            (PolicyException.Status.APPROVED, "Approve"),
            (PolicyException.Status.APPROVED_WITH_COACHING, "Approve with coaching"),
            (PolicyException.Status.DECLINED, "Decline with feedback"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Note, coaching or feedback",
        help_text="Required for coaching and for a decline. Published with the story.",
    )
    reward_points = forms.IntegerField(
        min_value=0, initial=0, required=False, label="Reward points from my budget"
    )
    publish = forms.BooleanField(required=False, label="Publish as a customer-first story")
