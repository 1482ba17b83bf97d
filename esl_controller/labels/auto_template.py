"""Which template a label is drawn with: "auto" follows its product's situation by itself.

A label linked with "auto" shows the price layout normally and the promo layout while a
promotion that really lowers the price runs, where the promo template has a layout for
the label's panel (every bundled panel has one; a store's own template set may lack some,
and then the price layout shows the promo price). A label linked with "promo" shows the
price layout too while no reduction runs: a promotion band over a price that is no
reduction would announce one (EU 2019/2161, C-330/23). A delisted product's label is
turned to the not-for-sale template before this is asked (see labels.catalogue_slice), for
every template alike. It is resolved when the label is drawn, from the content: the content
changes when a promotion starts or ends, so does the render fingerprint, and the label is
drawn again.
"""

from __future__ import annotations

from collections.abc import Callable

from esl_controller.labels.content import LabelContent

AUTO_TEMPLATE = "auto"
REGULAR_TEMPLATE = "price"
PROMO_TEMPLATE = "promo"


def resolve_template(template: str, content: LabelContent, fits: Callable[[str], bool]) -> str:
    """The template to draw `content` with; only "auto" and "promo" depend on the content,
    and "auto" on which templates `fits` the label's panel."""
    if template == PROMO_TEMPLATE and content.promo is None:
        return REGULAR_TEMPLATE
    if template != AUTO_TEMPLATE:
        return template
    if content.promo is not None and fits(PROMO_TEMPLATE):
        return PROMO_TEMPLATE
    return REGULAR_TEMPLATE
