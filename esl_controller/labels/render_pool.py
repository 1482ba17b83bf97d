"""Rendering many labels at once: a process pool whose workers load templates once.

Rendering is pure and CPU-bound, so bulk jobs (a full-store re-price) fan out over the
cores. A pool of size 1 renders in the calling process: no start-up cost for the single
label a manager re-pushes, and simple to debug.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from esl_controller.config import PROJECT_ROOT
from esl_controller.labels.auto_template import resolve_template
from esl_controller.labels.content import LabelContent
from esl_controller.labels.hardware import HardwareModel, load_hardware_models
from esl_controller.labels.planes import PackedImage, pack_image
from esl_controller.labels.render import panel_image, render_label
from esl_controller.labels.templates import LabelTemplate, TemplateError, load_templates


@dataclass(frozen=True)
class RenderJob:
    label_id: str
    template: str
    model: str
    content: LabelContent


@dataclass(frozen=True)
class RenderOutcome:
    label_id: str
    encoded: PackedImage | None = None
    error_kind: str | None = None  # template_error | render_error
    error: str | None = None


class LabelRenderer:
    """Templates and hardware models loaded once; renders and encodes jobs."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.models: dict[str, HardwareModel] = load_hardware_models(
            templates_dir / "hardware.yaml" if templates_dir else None
        )
        self.templates: dict[str, LabelTemplate] = load_templates(templates_dir, self.models)

    def render(self, job: RenderJob) -> tuple[Image.Image, HardwareModel]:
        model = self.models.get(job.model)
        if model is None:
            raise TemplateError(f"label {job.label_id}: unknown hardware model {job.model!r}")
        name = resolve_template(
            job.template, job.content, lambda candidate: self.fits(candidate, model)
        )
        template = self.templates.get(name)
        if template is None:
            raise TemplateError(f"label {job.label_id}: unknown template {name!r}")
        return render_label(template, job.content, model), model

    def fits(self, template: str, model: HardwareModel) -> bool:
        """Whether `template` has a layout for the panel of `model`."""
        chosen = self.templates.get(template)
        return chosen is not None and model.size_key in chosen.layouts

    def encode(self, job: RenderJob) -> RenderOutcome:
        try:
            image, model = self.render(job)
            encoded = pack_image(panel_image(image, model), model.colour_mode)
        except TemplateError as exc:
            return RenderOutcome(job.label_id, error_kind="template_error", error=str(exc))
        except Exception as exc:  # a bad product must not stop the other labels
            return RenderOutcome(
                job.label_id, error_kind="render_error", error=f"{type(exc).__name__}: {exc}"
            )
        return RenderOutcome(job.label_id, encoded=encoded)


@lru_cache(maxsize=4)
def shared_renderer(templates_dir: Path | None) -> LabelRenderer:
    """One renderer per templates folder for a process's single-label work (a manager's
    re-push, a link from the shelf): loading templates and fonts costs far more than a
    label."""
    return LabelRenderer(templates_dir)


_worker_renderer: LabelRenderer | None = None


def _init_worker(templates_dir: Path | None) -> None:
    global _worker_renderer
    _worker_renderer = LabelRenderer(templates_dir)


def _encode_in_worker(job: RenderJob) -> RenderOutcome:
    assert _worker_renderer is not None, "pool worker not initialised"
    return _worker_renderer.encode(job)


def templates_digest(directory: Path | None = None) -> str:
    """A short hash of every file in the templates folder (layouts, hardware, fonts, logos).

    Part of each label's render fingerprint: editing a template re-renders its labels.
    """
    directory = directory or PROJECT_ROOT / "label_templates"
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def _shared_templates_digest(templates_dir: Path | None) -> str:
    return templates_digest(templates_dir)  # as long-lived as shared_renderer's templates


class RenderPool:
    """`with RenderPool(workers) as pool: pool.encode_all(jobs)`."""

    def __init__(self, workers: int = 0, templates_dir: Path | None = None) -> None:
        self.workers = workers or multiprocessing.cpu_count()
        self.templates_dir = templates_dir
        self.templates_digest = templates_digest(templates_dir)
        self._executor: ProcessPoolExecutor | None = None
        self._local: LabelRenderer | None = None

    @classmethod
    def in_process(cls, templates_dir: Path | None = None) -> RenderPool:
        """A pool of this process only, over `shared_renderer`: for a request's handful of
        labels, which must not pay for loading every template and font again."""
        pool = cls.__new__(cls)
        pool.workers = 1
        pool.templates_dir = templates_dir
        pool.templates_digest = _shared_templates_digest(templates_dir)
        pool._executor = None
        pool._local = shared_renderer(templates_dir)
        return pool

    def __enter__(self) -> RenderPool:
        if self.workers <= 1:
            self._local = self._local or LabelRenderer(self.templates_dir)
        else:
            # forkserver: the worker process has MQTT and scheduler threads; forking it
            # directly could copy a held lock into the children.
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
                initargs=(self.templates_dir,),
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def encode_all(self, jobs: Iterable[RenderJob]) -> Iterator[RenderOutcome]:
        if self._executor is None:
            renderer = self._local or LabelRenderer(self.templates_dir)
            self._local = renderer
            return (renderer.encode(job) for job in jobs)
        return self._executor.map(_encode_in_worker, jobs, chunksize=64)
