"""REST API for recognition, points, rewards, redemptions and policy exceptions.

Creates that move points accept an `Idempotency-Key` header (cxculture.lib.idempotency): a
retry with the same key and body gets the first answer (with `Idempotent-Replayed: true`), the
same key with another body a 422.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, pagination, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxculture.lib import idempotency
from cxculture.lib.api import FeedPagination, PagePagination
from cxculture.lib.ratelimit import ExceptionCreateThrottle, RecognitionCreateThrottle
from cxculture.people.models import CompanyValue, Employee, Policy, Team
from cxculture.people.permissions import IsHRAdmin, IsHRAdminOrReadOnly, Viewer, viewer_for

from . import selectors, services
from .models import (
    Account,
    IdempotencyKey,
    LedgerEntry,
    LedgerTransaction,
    ManagerBudget,
    PolicyException,
    Reaction,
    Recognition,
    Redemption,
    Reward,
)
from .permissions import Forbidden, HasEmployeeRecord

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (up to 255 characters); a retry with the same key and "
    "body returns the first answer instead of doing the work again.",
)
CONFLICT = OpenApiResponse(description="Not enough points, out of stock, or already decided.")
KEY_REUSED = OpenApiResponse(description="The Idempotency-Key was used for another request.")


def _viewer(request: Request) -> Viewer:
    return viewer_for(request.user)


def _me(request: Request) -> Employee:
    employee = _viewer(request).employee
    if employee is None:
        raise Forbidden("Only people in the directory can do this.")
    return employee


def _idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    """Run `handler` at most once per Idempotency-Key (see cxculture.lib.idempotency)."""
    if idempotency.HEADER not in request.headers:
        return handler()  # no key: nothing to fingerprint or store
    data = request.data
    body = dict(data.lists()) if hasattr(data, "lists") else data

    def run() -> idempotency.Answer:
        response = handler()
        return idempotency.Answer(status=response.status_code, body=response.data)

    answer = idempotency.idempotent(
        model=IdempotencyKey,
        user_id=int(request.user.pk or 0),
        key=request.headers.get(idempotency.HEADER),
        request_fingerprint=idempotency.fingerprint(request.method, request.path, body),
        handler=run,
    )
    response = Response(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _give_parties(
    request: Request, receiver_ids: list[int], value_ids: list[int]
) -> tuple[selectors.GivePerson, list[selectors.GivePerson], list[selectors.GiveValue]]:
    """The signed-in giver, the receivers and the values asked for (in that order, once each),
    read in one statement, or the error that says what is missing."""
    parties = selectors.give_parties(
        user_id=int(request.user.pk or 0), receiver_ids=receiver_ids, value_ids=value_ids
    )
    if parties.giver is None:
        raise Forbidden("Only people in the directory can do this.")
    wanted = dict.fromkeys(receiver_ids)
    if any(pk not in parties.people for pk in wanted):
        raise serializers.ValidationError({"receivers": ["Unknown person."]})
    tagged = dict.fromkeys(value_ids)
    if any(pk not in parties.values for pk in tagged):
        raise serializers.ValidationError({"values": ["Unknown value."]})
    return (
        parties.giver,
        [parties.people[pk] for pk in wanted],
        [parties.values[pk] for pk in tagged],
    )


# --- Serializers ---------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class PersonRefSerializer(serializers.Serializer):
    """A `selectors.PersonRef`."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ValueRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.SlugField(read_only=True)


class ReactionCountSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    mine = serializers.BooleanField()


class ReceiverSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    team_name = serializers.CharField(read_only=True, allow_null=True)


_TIMESTAMP = serializers.DateTimeField(read_only=True)


class RecognitionSerializer(serializers.Serializer):
    """A `selectors.RecognitionCard`.

    The fields describe the card (the schema, the docs); `to_representation` renders what they
    would, from the card directly (a test holds the two equal): DRF copies every nested
    serializer's fields for each serializer it builds, which was half of a give's own rendering
    and parsing time (0.43 ms of the 201).
    """

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=Recognition.Kind.choices, read_only=True)
    giver = PersonRefSerializer(read_only=True)
    giver_team_name = serializers.CharField(read_only=True, allow_null=True)
    receivers = ReceiverSerializer(many=True, read_only=True)
    message = serializers.CharField(read_only=True)
    values = ValueRefSerializer(many=True, read_only=True)
    visibility = serializers.ChoiceField(choices=Recognition.Visibility.choices, read_only=True)
    points_per_receiver = serializers.IntegerField(read_only=True)
    reactions = ReactionCountSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    reversed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reversal_reason = serializers.CharField(read_only=True)

    def to_representation(self, instance: selectors.RecognitionCard) -> dict[str, Any]:
        card = instance
        return {
            "id": card.id,
            "kind": card.kind,
            "giver": {"id": card.giver.id, "name": card.giver.name},
            "giver_team_name": card.giver_team_name,
            "receivers": [
                {"id": r.id, "name": r.name, "team_name": r.team_name} for r in card.receivers
            ],
            "message": card.message,
            "values": [{"id": v.id, "name": v.name, "slug": v.slug} for v in card.values],
            "visibility": card.visibility,
            "points_per_receiver": card.points_per_receiver,
            "reactions": [
                {"emoji": r.emoji, "count": r.count, "mine": r.mine} for r in card.reactions
            ],
            "created_at": _TIMESTAMP.to_representation(card.created_at),
            "reversed_at": (
                None if card.reversed_at is None else _TIMESTAMP.to_representation(card.reversed_at)
            ),
            "reversal_reason": card.reversal_reason,
        }


class RecognitionCreateSerializer(serializers.Serializer):
    receivers = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=services.MAX_RECEIVERS
    )
    message = serializers.CharField(max_length=services.MAX_MESSAGE)
    values = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=services.MAX_VALUES
    )
    visibility = serializers.ChoiceField(
        choices=Recognition.Visibility.choices, default=Recognition.Visibility.ORGANISATION
    )
    points_per_receiver = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    spot_award = serializers.BooleanField(
        default=False, help_text="Managers: take the points from your reward budget."
    )


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=[(e, e) for e in Reaction.EMOJI])


class ReactionsSerializer(serializers.Serializer):
    reactions = ReactionCountSerializer(many=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReciprocalPairSerializer(serializers.Serializer):
    first = PersonSerializer()
    second = PersonSerializer()
    first_to_second = serializers.IntegerField()
    second_to_first = serializers.IntegerField()


class NotRecognisedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    team_name = serializers.CharField(source="team.name", default=None)
    last_recognised_at = serializers.DateTimeField(allow_null=True)


class BalanceSerializer(serializers.Serializer):
    allowance = serializers.IntegerField(help_text="Points you can still give this month.")
    monthly_allowance = serializers.IntegerField()
    allowance_resets_on = serializers.DateField()
    wallet = serializers.IntegerField(help_text="Points received; they never expire.")
    wallet_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    points_per_currency_unit = serializers.IntegerField()
    budget = serializers.IntegerField(allow_null=True, help_text="Managers: reward budget left.")


class EntrySerializer(serializers.ModelSerializer):
    transaction_id = serializers.IntegerField()
    kind = serializers.CharField(source="transaction.kind")
    memo = serializers.CharField(source="transaction.memo")
    account = serializers.CharField(source="account.kind")
    employee = PersonSerializer(source="account.employee", allow_null=True)
    created_at = serializers.DateTimeField(source="transaction.created_at")
    reverses = serializers.IntegerField(source="transaction.reverses_id", allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "transaction_id",
            "kind",
            "memo",
            "account",
            "employee",
            "amount",
            "reverses",
            "created_at",
        ]


class RewardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reward
        fields = ["id", "name", "description", "cost_points", "stock", "is_active"]

    def validate_cost_points(self, value: int) -> int:
        if value <= 0:
            raise serializers.ValidationError("A reward costs at least one point.")
        return value


class RedemptionSerializer(serializers.ModelSerializer):
    employee = PersonSerializer(read_only=True)
    reward_name = serializers.CharField(source="reward.name", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "employee",
            "reward",
            "reward_name",
            "cost_points",
            "status",
            "note",
            "created_at",
            "decided_at",
            "fulfilled_at",
        ]
        read_only_fields = fields


class RedemptionCreateSerializer(serializers.Serializer):
    reward = serializers.IntegerField(min_value=1)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PolicyExceptionSerializer(serializers.ModelSerializer):
    employee = PersonSerializer(read_only=True)
    team_name = serializers.CharField(source="employee.team.name", default=None, read_only=True)
    policy_name = serializers.CharField(source="policy.name", read_only=True)
    reviewer = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PolicyException
        fields = [
            "id",
            "employee",
            "team_name",
            "policy",
            "policy_name",
            "customer_ref",
            "interaction_ref",
            "occurred_on",
            "what_was_done",
            "why",
            "cost",
            "currency",
            "status",
            "reviewer",
            "review_note",
            "reward_points",
            "recognition",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields


class PolicyExceptionCreateSerializer(serializers.Serializer):
    policy = serializers.IntegerField(min_value=1)
    customer_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)
    interaction_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)
    occurred_on = serializers.DateField(required=False)
    what_was_done = serializers.CharField(max_length=5000)
    why = serializers.CharField(max_length=5000)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), default=Decimal("0")
    )


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[
            PolicyException.Status.APPROVED,
            PolicyException.Status.APPROVED_WITH_COACHING,
            PolicyException.Status.DECLINED,
        ]
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    reward_points = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    publish = serializers.BooleanField(default=False)
    values = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=3
    )


class PolicyStatsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    exception_count = serializers.IntegerField()
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    approved = serializers.IntegerField(help_text="Approved, with or without coaching.")
    coached = serializers.IntegerField(help_text="Of the approved ones, those with coaching.")
    declined = serializers.IntegerField()
    pending = serializers.IntegerField()
    reward_points = serializers.IntegerField()


class BudgetSerializer(serializers.ModelSerializer):
    manager = PersonSerializer(read_only=True)
    balance = serializers.IntegerField(read_only=True)

    class Meta:
        model = ManagerBudget
        fields = ["manager", "monthly_points", "balance", "updated_at"]
        read_only_fields = fields


class BudgetSetSerializer(serializers.Serializer):
    manager = serializers.IntegerField(min_value=1)
    monthly_points = serializers.IntegerField(min_value=0, max_value=1_000_000)


# --- Recognitions --------------------------------------------------------------------------------


class RecognitionFilter(filters.FilterSet):
    team = filters.NumberFilter(method="filter_team", label="Team id: given or received below it")
    value = filters.NumberFilter(method="filter_value", label="Company value id")
    person = filters.NumberFilter(method="filter_person", label="Employee id: giver or receiver")
    kind = filters.ChoiceFilter(choices=Recognition.Kind.choices)

    class Meta:
        model = Recognition
        fields = ["kind", "visibility"]

    def filter_team(self, queryset, name, value):
        team = Team.objects.filter(pk=value).first()
        return queryset.none() if team is None else selectors.involving_team(queryset, team)

    def filter_value(self, queryset, name, value):
        return selectors.tagged_with(queryset, value)

    def filter_person(self, queryset, name, value):
        return selectors.involving_person(queryset, value)


@extend_schema_view(
    list=extend_schema(description="The feed: newest first, cursor-paginated."),
    create=extend_schema(
        request=RecognitionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: RecognitionSerializer, 409: CONFLICT, 422: KEY_REUSED},
        description="Recognise colleagues, optionally with points from your monthly allowance "
        "(or, for a manager's spot award, from your reward budget).",
    ),
)
class RecognitionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RecognitionSerializer
    pagination_class = FeedPagination
    filterset_class = RecognitionFilter
    throttle_classes = [*APIView.throttle_classes, RecognitionCreateThrottle]

    def get_queryset(self) -> QuerySet[Recognition]:
        viewer = _viewer(self.request)
        if self.action == "list":
            return selectors.feed_for_viewer(viewer)
        return selectors.recognitions_for_viewer(viewer)

    def _cards(self, recognitions: list[Recognition]) -> list[selectors.RecognitionCard]:
        return selectors.recognition_cards(recognitions, _viewer(self.request))

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = RecognitionSerializer(self._cards(list(page or [])), many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        (card,) = self._cards([self.get_object()])
        return Response(RecognitionSerializer(card).data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = RecognitionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data

        def give() -> Response:
            giver, receivers, values = _give_parties(request, data["receivers"], data["values"])
            # Only a spot award asks which teams the giver manages (the viewer's one query).
            managed_paths = _viewer(request).managed_paths if data["spot_award"] else ()
            recognition = services.recognition_give(
                giver=giver,
                receivers=receivers,
                message=data["message"],
                values=values,
                points_per_receiver=data["points_per_receiver"],
                visibility=data["visibility"],
                spot_award=data["spot_award"],
                managed_paths=managed_paths,
            )
            # Shown from the rows the give had in hand: the giver sees their own recognition.
            card = selectors.recognition_card_given(
                recognition, giver=giver, receivers=receivers, values=values
            )
            return Response(RecognitionSerializer(card).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, give)

    @extend_schema(
        methods=["POST"],
        request=ReactionSerializer,
        responses={201: ReactionsSerializer, 200: ReactionsSerializer},
        description="Add a reaction (200 if you had already added it).",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[OpenApiParameter("emoji", OpenApiTypes.STR, required=True)],
        request=None,
        responses={200: ReactionsSerializer},
        description="Remove your reaction.",
    )
    @action(detail=True, methods=["post", "delete"])
    def reactions(self, request: Request, pk: str | None = None) -> Response:
        recognition = self.get_object()
        me = _me(request)
        if request.method == "DELETE":
            source = request.query_params if "emoji" in request.query_params else request.data
            incoming = ReactionSerializer(data=source)
            incoming.is_valid(raise_exception=True)
            services.reaction_remove(
                recognition=recognition, employee=me, emoji=incoming.validated_data["emoji"]
            )
            answer: int = status.HTTP_200_OK
        else:
            incoming = ReactionSerializer(data=request.data)
            incoming.is_valid(raise_exception=True)
            added = services.reaction_add(
                recognition=recognition, employee=me, emoji=incoming.validated_data["emoji"]
            )
            answer = status.HTTP_201_CREATED if added else status.HTTP_200_OK
        summary = selectors.reaction_summaries([recognition.pk], _viewer(request))
        body = ReactionsSerializer({"reactions": summary.get(recognition.pk, [])}).data
        return Response(body, status=answer)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: RecognitionSerializer, 409: CONFLICT},
        description="HR admins: reverse a recognition and its points (nothing is deleted).",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsHRAdmin])
    def reverse(self, request: Request, pk: str | None = None) -> Response:
        recognition = self.get_object()
        incoming = ReasonSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.recognition_reverse(
            recognition=recognition,
            by=request.user,  # type: ignore[arg-type]
            reason=incoming.validated_data["reason"],
        )
        (card,) = self._cards([self.get_queryset().get(pk=recognition.pk)])
        return Response(RecognitionSerializer(card).data)

    @extend_schema(
        responses=ReciprocalPairSerializer(many=True),
        description="HR admins: pairs who each gave the other many points lately (a pattern "
        "worth a look, not blocked).",
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="reciprocal-pairs",
        permission_classes=[IsHRAdmin],
        pagination_class=None,
        filterset_class=None,
    )
    def reciprocal_pairs(self, request: Request) -> Response:
        pairs = selectors.reciprocal_pairs(_viewer(request))
        return Response(ReciprocalPairSerializer(pairs, many=True).data)

    @extend_schema(
        responses={
            200: NotRecognisedSerializer(many=True),
            403: OpenApiResponse(description="Managers, HR admins and executives only."),
        },
        description="Managers (their subtrees), HR and executives: people not recognised in "
        "the last 60 days, longest-waiting first.",
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="not-recognised",
        pagination_class=PagePagination,
        filterset_class=None,
    )
    def not_recognised(self, request: Request) -> Response:
        viewer = _viewer(request)
        if not (viewer.is_manager or viewer.sees_whole_organisation):
            raise Forbidden("This list is for managers.")
        page = self.paginate_queryset(selectors.not_recognised_lately(viewer))
        return self.get_paginated_response(NotRecognisedSerializer(page, many=True).data)


# --- Points --------------------------------------------------------------------------------------


class PointsBalanceView(APIView):
    """Your giving allowance, wallet and (managers) reward budget."""

    permission_classes = [HasEmployeeRecord]

    @extend_schema(responses=BalanceSerializer)
    def get(self, request: Request) -> Response:
        balances = selectors.balances_for(_me(request))
        return Response(BalanceSerializer(balances).data)


class EntryPagination(pagination.CursorPagination):
    page_size = 50
    ordering = "-id"


class EntryFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(
        field_name="transaction__kind", choices=LedgerTransaction.Kind.choices
    )
    account = filters.ChoiceFilter(field_name="account__kind", choices=Account.Kind.choices)
    employee = filters.NumberFilter(field_name="account__employee_id", label="HR: employee id")

    class Meta:
        model = LedgerEntry
        fields = ["kind", "account", "employee"]


class PointsTransactionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Ledger entries: your own; HR admins see everyone's (filter by `employee`)."""

    serializer_class = EntrySerializer
    pagination_class = EntryPagination
    filterset_class = EntryFilter

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return selectors.entries_for_viewer(_viewer(self.request), everyone=True)


@extend_schema_view(
    list=extend_schema(description="HR admins: every manager's budget; managers: their own."),
    create=extend_schema(
        request=BudgetSetSerializer,
        responses={200: BudgetSerializer, 404: OpenApiResponse(description="No such manager.")},
        description="HR admins: set a manager's monthly reward budget (and top it up now).",
    ),
)
class BudgetViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = BudgetSerializer

    def get_permissions(self):
        if self.action == "create":
            return [IsHRAdmin()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[ManagerBudget]:
        return selectors.budgets_for_viewer(_viewer(self.request))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = BudgetSetSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        manager = get_object_or_404(
            Employee.objects.select_related("user"), pk=incoming.validated_data["manager"]
        )
        budget = services.budget_set(
            manager=manager,
            monthly_points=incoming.validated_data["monthly_points"],
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(BudgetSerializer(self.get_queryset().get(pk=budget.pk)).data)


# --- Rewards and redemptions ---------------------------------------------------------------------


class RewardViewSet(viewsets.ModelViewSet):
    """The reward catalog: everyone reads the active rewards; HR admins keep it."""

    serializer_class = RewardSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["is_active"]

    def get_queryset(self) -> QuerySet[Reward]:
        return selectors.rewards_for_viewer(_viewer(self.request))

    def perform_create(self, serializer):
        serializer.instance = services.reward_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.reward_update(
            reward=serializer.instance, **serializer.validated_data
        )

    @extend_schema(responses={204: None, 409: CONFLICT})
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.reward_delete(reward=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RedemptionFilter(filters.FilterSet):
    employee = filters.NumberFilter(field_name="employee_id", label="HR: employee id")

    class Meta:
        model = Redemption
        fields = ["status", "employee", "reward"]


@extend_schema_view(
    list=extend_schema(description="Your redemptions; HR admins see everyone's."),
    create=extend_schema(
        request=RedemptionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RedemptionSerializer,
            404: OpenApiResponse(description="No such reward, or it is not offered."),
            409: CONFLICT,
            422: KEY_REUSED,
        },
        description="Redeem a reward: the points leave your wallet now and come back if HR "
        "rejects the request.",
    ),
)
class RedemptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RedemptionSerializer
    filterset_class = RedemptionFilter

    def get_permissions(self):
        if self.action in {"approve", "reject", "fulfil"}:
            return [IsHRAdmin()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Redemption]:
        return selectors.redemptions_for_viewer(_viewer(self.request))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = RedemptionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        me = _me(request)
        viewer = _viewer(request)

        def redeem() -> Response:
            reward = get_object_or_404(
                selectors.rewards_for_viewer(viewer), pk=incoming.validated_data["reward"]
            )
            redemption = services.redemption_request(employee=me, reward=reward)
            fresh = self.get_queryset().get(pk=redemption.pk)
            return Response(RedemptionSerializer(fresh).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, redeem)

    def _decide(self, request: Request, decide: Callable[..., Redemption], **kwargs) -> Response:
        redemption = self.get_object()
        decide(redemption=redemption, by=request.user, **kwargs)
        return Response(RedemptionSerializer(self.get_queryset().get(pk=redemption.pk)).data)

    @extend_schema(request=NoteSerializer, responses={200: RedemptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        incoming = NoteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._decide(
            request, services.redemption_approve, note=incoming.validated_data["note"]
        )

    @extend_schema(request=NoteSerializer, responses={200: RedemptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        incoming = NoteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._decide(
            request, services.redemption_reject, note=incoming.validated_data["note"]
        )

    @extend_schema(request=None, responses={200: RedemptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def fulfil(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, services.redemption_fulfil)


# --- Policy exceptions ---------------------------------------------------------------------------


class PolicyExceptionFilter(filters.FilterSet):
    queue = filters.BooleanFilter(
        method="filter_queue", label="Only the pending exceptions you may review"
    )
    employee = filters.NumberFilter(field_name="employee_id")
    customer_ref = filters.CharFilter()
    interaction_ref = filters.CharFilter()

    class Meta:
        model = PolicyException
        fields = ["status", "policy", "employee", "customer_ref", "interaction_ref"]

    def filter_queue(self, queryset, name, value):
        if not value:
            return queryset
        viewer = viewer_for(self.request.user)  # type: ignore[union-attr]
        return queryset.filter(pk__in=selectors.exception_review_queue(viewer).values("pk"))


@extend_schema_view(
    list=extend_schema(
        description="Your exceptions, those of the teams you manage; HR admins everyone's."
    ),
    create=extend_schema(
        request=PolicyExceptionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PolicyExceptionSerializer},
        description="Log a policy you bent for a customer, with the customer and/or "
        "interaction reference. Your manager reviews it.",
    ),
)
class PolicyExceptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PolicyExceptionSerializer
    filterset_class = PolicyExceptionFilter
    throttle_classes = [*APIView.throttle_classes, ExceptionCreateThrottle]

    def get_queryset(self) -> QuerySet[PolicyException]:
        return selectors.exceptions_for_viewer(_viewer(self.request))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = PolicyExceptionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        me = _me(request)
        data = dict(incoming.validated_data)

        def log() -> Response:
            policy = Policy.objects.filter(pk=data.pop("policy"), is_active=True).first()
            if policy is None:
                raise serializers.ValidationError({"policy": ["Unknown policy."]})
            exception = services.exception_log(employee=me, policy=policy, **data)
            fresh = self.get_queryset().get(pk=exception.pk)
            return Response(PolicyExceptionSerializer(fresh).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, log)

    @extend_schema(
        request=ReviewSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: PolicyExceptionSerializer,
            403: OpenApiResponse(description="Your own exception, or outside your teams."),
            409: CONFLICT,
            422: KEY_REUSED,
        },
        description="Managers: approve (optionally with points from your budget, published as "
        "a recognition story), approve with coaching notes, or decline with feedback.",
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        # Looked up among all exceptions so that reviewing someone else's is a clear 403.
        exception = get_object_or_404(PolicyException.objects.all(), pk=pk)
        incoming = ReviewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        viewer = _viewer(request)
        data = incoming.validated_data

        def review() -> Response:
            values = list(CompanyValue.objects.filter(pk__in=data["values"]))
            services.exception_review(
                exception=exception,
                viewer=viewer,
                decision=data["decision"],
                note=data["note"],
                reward_points=data["reward_points"],
                publish=data["publish"],
                values=values,
            )
            fresh = selectors.exceptions_for_viewer(viewer).get(pk=exception.pk)
            return Response(PolicyExceptionSerializer(fresh).data)

        return _idempotent(request, review)

    @extend_schema(
        responses=PolicyStatsSerializer(many=True),
        description="Per policy: how often it was bent, the total cost and the reviews, over "
        "the exceptions in your scope.",
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="by-policy",
        pagination_class=None,
        filterset_class=None,
    )
    def by_policy(self, request: Request) -> Response:
        stats = selectors.exception_stats_by_policy(_viewer(request))
        return Response(PolicyStatsSerializer(stats, many=True).data)
