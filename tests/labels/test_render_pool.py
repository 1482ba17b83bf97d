"""The render pool's two forms: worker processes for a store's labels, and the in-process
pool over the shared renderer that a request uses for a product's few labels."""

from __future__ import annotations

from esl_controller.labels.render_pool import RenderJob, RenderPool, templates_digest


def test_the_in_process_pool_encodes_as_a_fresh_pool_and_shares_its_renderer(make_content):
    jobs = [
        RenderJob(f"L-{n}", "price", "2.9-bwr", make_content(name=f"Product {n}")) for n in range(3)
    ]
    with RenderPool(workers=1) as fresh:
        expected = [outcome.encoded for outcome in fresh.encode_all(jobs)]
    with RenderPool.in_process() as first, RenderPool.in_process() as second:
        assert [outcome.encoded for outcome in first.encode_all(jobs)] == expected
        assert [outcome.encoded for outcome in second.encode_all(jobs)] == expected
        assert first.templates_digest == second.templates_digest == templates_digest()
        assert all(outcome.encoded is not None for outcome in first.encode_all(jobs))
