"""How insight pages write their statistics: p-values, and money with its currency."""

from django import template

from cxculture.insights.selectors import p_text

register = template.Library()


@register.filter
def p_value(p: float | None) -> str:
    """`p = 0.034`, or `p < 0.001` where three decimals would show zero."""
    return "" if p is None else p_text(p)


@register.filter
def survey_figure(value: float | None) -> str:
    """A survey figure as the selectors rounded it to what its n supports (`lib/stats.py`):
    86, not 86.0; 71.4 or 3.64 as they are. A fixed number of decimals would claim a
    precision the figure does not have."""
    return "—" if value is None else f"{value:g}"
