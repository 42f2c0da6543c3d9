"""How insight pages write their statistics: p-values, and money with its currency."""

from django import template

from cxculture.insights.selectors import p_text

register = template.Library()


@register.filter
def p_value(p: float | None) -> str:
    """`p = 0.034`, or `p < 0.001` where three decimals would show zero."""
    return "" if p is None else p_text(p)
