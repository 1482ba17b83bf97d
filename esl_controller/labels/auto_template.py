"""The "auto" template: a label that follows its product's situation by itself.

A label linked with "auto" shows the price layout normally and the promo layout while a
promotion that really lowers the price runs. A delisted product's label is turned to the
not-for-sale template before this is asked (see labels.refresh), for every template alike.
"""

from __future__ import annotations

from esl_controller.labels.content import LabelContent

AUTO_TEMPLATE = "auto"
REGULAR_TEMPLATE = "price"
PROMO_TEMPLATE = "promo"
# The layouts an "auto" label may be drawn with: each must fit the label's panel.
AUTO_CHOICES = (REGULAR_TEMPLATE, PROMO_TEMPLATE)


def resolve_template(template: str, content: LabelContent) -> str:
    """The template to draw `content` with; only "auto" depends on the content."""
    if template != AUTO_TEMPLATE:
        return template
    return PROMO_TEMPLATE if content.promo is not None else REGULAR_TEMPLATE
