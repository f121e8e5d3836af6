from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ answers|get_item:step.pk }}``"""
    return mapping.get(key) if mapping else None


@register.filter
def script_choices(step, walk):
    """The answers the operator may click for ``step`` of ``walk``."""
    return walk.choices(step)
