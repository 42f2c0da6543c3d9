"""Factories and builders for customer outcomes. They go through services, like the app does."""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

import factory

from cxculture.outcomes import services
from cxculture.outcomes.models import Metric, OutcomeSource

HEADER = (
    "metric",
    "value",
    "occurred_at",
    "team_external_id",
    "agent",
    "customer_ref",
    "interaction_ref",
    "external_id",
)


def builtin_metrics() -> dict[str, Metric]:
    """The built-in catalog (pytest runs without migrations, so the data migration did not)."""
    services.metric_builtins_ensure()
    return {metric.code: metric for metric in Metric.objects.all()}


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Metric

    code = factory.Sequence(lambda n: f"metric_{n}")
    name = factory.Sequence(lambda n: f"Metric {n}")
    kind = Metric.Kind.NUMBER
    min_value = 0.0
    max_value = 100.0
    unit = ""
    higher_is_better = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.metric_create(**kwargs)


class OutcomeSourceFactory(factory.django.DjangoModelFactory):
    """An outcome source; its one-time token is on `source.token`."""

    class Meta:
        model = OutcomeSource

    name = factory.Sequence(lambda n: f"Helpdesk {n}")
    slug = factory.Sequence(lambda n: f"helpdesk-{n}")
    created_by = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        source, token = services.outcome_source_create(**kwargs)
        source.token = token
        return source


def csv_bytes(
    rows: Iterable[Sequence[object] | Mapping[str, object]],
    header: Sequence[str] = HEADER,
    *,
    encoding: str = "utf-8",
) -> bytes:
    """A CSV file: rows as sequences (in `header` order) or as dicts (missing keys empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, Mapping):
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
        else:
            writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def record(
    metric: str,
    value: object,
    occurred_at: str,
    *,
    team: str = "",
    agent: str = "",
    customer_ref: str = "",
    interaction_ref: str = "",
    external_id: str = "",
) -> dict[str, object]:
    """One row (or JSON record) with the CSV column names."""
    return {
        "metric": metric,
        "value": value,
        "occurred_at": occurred_at,
        "team_external_id": team,
        "agent": agent,
        "customer_ref": customer_ref,
        "interaction_ref": interaction_ref,
        "external_id": external_id,
    }


__all__ = [
    "HEADER",
    "MetricFactory",
    "OutcomeSourceFactory",
    "builtin_metrics",
    "csv_bytes",
    "record",
]
