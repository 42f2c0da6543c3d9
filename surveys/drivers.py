"""Drivers a question can measure: the built-in `Driver` choices and HR's `CustomDriver` rows.

Every label a page, form or API answer shows for a driver comes from `driver_label`, so a
custom driver reads the same everywhere. Built-in drivers keep their order and come first.
"""

from collections.abc import Iterable

from .models import CustomDriver, Driver


def driver_choices() -> list[tuple[str, str]]:
    """(code, label) of every driver: the built-in ones, then HR's custom ones by label."""
    custom = CustomDriver.objects.order_by("label", "id").values_list("code", "label")
    return [*Driver.choices, *custom]


def active_driver_choices() -> list[tuple[str, str]]:
    """(code, label) of the drivers a new question or action may choose: the built-in ones,
    then HR's custom ones that are not retired, by label."""
    custom = (
        CustomDriver.objects.filter(is_active=True)
        .order_by("label", "id")
        .values_list("code", "label")
    )
    return [*Driver.choices, *custom]


def ordered(codes: Iterable[str]) -> list[str]:
    """`codes` in the order pages list drivers: built-in ones in their order, then HR's own."""
    present = set(codes)
    builtin = [driver for driver in Driver.values if driver in present]
    return builtin + sorted(present - set(builtin))


def driver_labels() -> dict[str, str]:
    return dict(driver_choices())


def driver_labels_for(codes: Iterable[str]) -> dict[str, str]:
    """Labels of `codes`: at most one query, and none when all are built in."""
    codes = set(codes)
    labels = {code: str(Driver(code).label) for code in codes if code in Driver.values}
    custom = codes - set(labels)
    if custom:
        labels.update(CustomDriver.objects.filter(code__in=custom).values_list("code", "label"))
    return labels


def driver_label(code: str, labels: dict[str, str] | None = None) -> str:
    """The label of driver `code`; pass `labels` (from `driver_labels`) to label many at once."""
    if code in Driver.values:
        return str(Driver(code).label)
    if labels is None:
        labels = dict(CustomDriver.objects.filter(code=code).values_list("code", "label"))
    return labels.get(code, code)


def is_driver(code: str) -> bool:
    return code in Driver.values or CustomDriver.objects.filter(code=code).exists()


def is_active_driver(code: str) -> bool:
    """Whether a new question or action may choose `code`: built in, or HR's and not retired."""
    return code in Driver.values or CustomDriver.objects.filter(code=code, is_active=True).exists()
