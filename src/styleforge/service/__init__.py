"""The distributed job queue: Celery workers on any machine, an HTTP API, batch submission.

* :mod:`.config` — :class:`ServiceConfig` (broker URL, sizes, time-outs, the lease) and the job
  classes of each mode (:func:`job_class`: ``fast`` or ``heavy``).
* :mod:`.store` — :class:`JobStore`: job records, inputs and results in Redis, bounded and
  expiring; a result is written once per job id.
* :mod:`.modes` — the modes a worker runs (``instant``, ``photo``, ``artistic``, ``makeup``):
  option checks (torch-free, run by the front end before a job is queued) and the runs.
* :mod:`.tasks` — the Celery app and its one task; leases, heartbeats and the re-queueing of jobs
  whose worker died.
* :mod:`.quota` — per-client limits kept in Redis (shared by every front end and worker).
* :mod:`.http` — the FastAPI router (``/v1/jobs``, ``/healthz``, ``/readyz``).
* :mod:`.client` — batch submission of a folder from the command line.

Nothing here imports Gradio or the web page; the page imports this package.  Importing it does
not import Celery, Redis or torch.
"""

from __future__ import annotations

__all__ = ["FAST", "HEAVY", "ServiceConfig", "job_class"]

from .config import FAST, HEAVY, ServiceConfig, job_class
