"""The HTTP API: ``/v1/jobs`` (submit, poll, fetch, cancel, delete), ``/healthz``, ``/readyz``.

:func:`create_api` builds a FastAPI app meant to be mounted at ``/v1`` (its OpenAPI docs are
``/v1/docs``); :func:`attach` mounts it, with the health routes, into a running server (the
page's Gradio app, which is FastAPI underneath); :func:`create_server` is a stand-alone front end
with the API only.

Errors are JSON ``{"error": "..."}`` with a proper status: 400 bad request (unknown mode,
option or value, missing image), 401 no valid login or key, 403 another client's job, 404 no such
job, 409 no result yet, 410 result expired or deleted, 411 upload without a length, 413 image too
large, 429 a per-client limit (with ``Retry-After``), 503 the broker is down (with a clear message,
after at most :attr:`ServiceConfig.connect_timeout_s`).
"""

from __future__ import annotations

__all__ = ["ApiAuth", "attach", "create_api", "create_server"]

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from ..errors import InputError
from .config import ServiceConfig, job_class
from .modes import INPUTS, check
from .store import BrokerDown, Job, JobStore, new_job_id

#: Room for the form fields around the images, in a request's Content-Length.
FORM_SLACK = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiAuth:
    """Who calls the API.

    A client is ``user:NAME`` — from an API key (``Authorization: Bearer KEY`` or ``X-API-Key``),
    HTTP Basic with a login of the page, or the page's login cookie — or, on a server without
    logins, ``ip:ADDRESS``.  The same user is the same client on every route and every front end,
    so the limits are shared.

    Args:
        api_keys: key → user name (kept as SHA-256 digests only).
        verify_password: ``await verify(user, password)`` (the page's accounts), for HTTP Basic.
        cookie_user: the user of a request's login cookie (the page's), or None.
        client_address: the client's address from the ASGI scope (proxy-aware), default the peer.
        required: refuse anonymous callers (401).
    """

    def __init__(
        self,
        api_keys: Mapping[str, str] | None = None,
        *,
        verify_password: Callable[[str, str], Awaitable[bool]] | None = None,
        cookie_user: Callable[[Mapping[str, Any]], str | None] | None = None,
        client_address: Callable[[Mapping[str, Any]], str] | None = None,
        required: bool = False,
    ) -> None:
        self._keys = {_digest(k): u for k, u in (api_keys or {}).items()}
        self.verify_password, self.cookie_user = verify_password, cookie_user
        self.client_address = client_address or (lambda scope: str((scope.get("client") or ("unknown",))[0]))
        self.required = required or bool(api_keys) or verify_password is not None

    @staticmethod
    def parse_keys(values: list[str]) -> dict[str, str]:
        """``USER:KEY`` values (``--api-key``) → key → user."""
        out = {}
        for v in values:
            user, sep, key = v.partition(":")
            if not sep or not user or len(key) < 16:
                raise InputError(
                    "--api-key takes USER:KEY with a key of at least 16 characters "
                    "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')"
                )
            out[key] = user
        return out

    async def client(self, request: Any) -> str:
        """The caller's client key, or :class:`ApiError` 401."""
        import base64

        headers = request.headers
        auth = headers.get("authorization", "")
        key = headers.get("x-api-key") or (auth[7:].strip() if auth.lower().startswith("bearer ") else "")
        if key:
            user = self._keys.get(_digest(key))
            if user is None:
                raise ApiError(401, "unknown API key")
            return f"user:{user}"
        if auth.lower().startswith("basic ") and self.verify_password is not None:
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise ApiError(401, "malformed Basic authorization") from None
            if await self.verify_password(user, password):
                return f"user:{user}"
            raise ApiError(401, "wrong user name or password")
        if self.cookie_user is not None:
            user = self.cookie_user(request.scope)
            if user is not None:
                return f"user:{user}"
        if self.required:
            raise ApiError(
                401,
                "log in: an API key (Authorization: Bearer KEY) or the page's user name and password (HTTP Basic)",
                {"WWW-Authenticate": 'Bearer, Basic realm="styleforge"'},
            )
        return f"ip:{self.client_address(request.scope)}"


async def _caller(request: Request) -> str:
    """The client of a request (the API app's :class:`ApiAuth` decides)."""
    return await request.app.state.auth.client(request)


#: An endpoint parameter: the caller's client key.
Client = Annotated[str, Depends(_caller)]


def _job_json(job: Job, base: str) -> dict[str, Any]:
    out = {
        "id": job.id,
        "mode": job.mode,
        "class": job.cls,
        "state": job.state,
        "progress": round(job.progress, 4),
        "message": job.message,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "runs": job.runs,
        "attempts": job.attempts,
        "error": job.error or None,
        "result_url": None,
    }
    if job.state == "done" and job.result_bytes:
        out["result_url"] = f"{base}/jobs/{job.id}/result"
    return out


def create_api(
    config: ServiceConfig, auth: ApiAuth | None = None, *, store: JobStore | None = None, celery: Any = None
) -> Any:
    """The API as a FastAPI app to mount at ``/v1``."""
    from .quota import RedisQuota
    from .tasks import enqueue, make_app

    auth = auth or ApiAuth()
    store = store or JobStore(config)
    app_celery = celery or make_app(config)
    quota = RedisQuota(store.redis, config.prefix, config.max_jobs_per_client, config.max_heavy_per_hour, config.ttl_s)
    api = FastAPI(
        title="styleforge API",
        version="1",
        description="Submit style-transfer jobs, poll them, fetch the results. Jobs run on the workers of "
        'the queue (`styleforge worker`). Errors are JSON `{"error": ...}`.',
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    limit = config.max_upload_bytes
    max_body = limit * len({n for r, o in INPUTS.values() for n in r + o}) + FORM_SLACK

    def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Any:
        return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))

    @api.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> Any:
        return error(e.status, e.message, e.headers)

    @api.exception_handler(BrokerDown)
    async def _down(request: Request, e: BrokerDown) -> Any:
        return error(503, str(e), {"Retry-After": "10"})

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> Any:
        parts = []
        for err in e.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "path", "query"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return error(400, "bad request: " + "; ".join(parts))

    @api.middleware("http")
    async def _size(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None:
                return error(411, "send the upload with a Content-Length")
            if not length.isdigit() or int(length) > max_body:
                return error(413, f"request too large (at most {limit / 2**20:g} MB per image)")
        return await call_next(request)

    def own(job_id: str, client: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (unknown, or expired after {config.ttl_s} s)")
        if job.owner != client:
            raise ApiError(403, "this job belongs to another client")
        return job

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @api.post("/jobs", status_code=202, summary="Submit a job", responses={400: {}, 401: {}, 413: {}, 429: {}, 503: {}})
    def submit(
        request: Request,
        client: Client,
        mode: Annotated[str, Form(description="instant, photo, artistic, makeup or video")],
        content: Annotated[UploadFile, File(description="the photo (video: the clip, MP4/WebM/MOV)")],
        options: Annotated[str, Form(description='JSON, e.g. {"style": "starry_night", "size": 512}')] = "{}",
        style: Annotated[UploadFile | None, File(description="a style image (instant, artistic, photo, video)")] = None,
        reference: Annotated[UploadFile | None, File(description="a made-up face (makeup transfer)")] = None,
        style2: Annotated[
            UploadFile | None,
            File(description="artistic blends: more style images, named @style2… in the styles option"),
        ] = None,
        style3: Annotated[UploadFile | None, File()] = None,
        style4: Annotated[UploadFile | None, File()] = None,
        content_mask: Annotated[UploadFile | None, File(description="photo: colour mask of the photo")] = None,
        style_mask: Annotated[UploadFile | None, File(description="photo: colour mask of the style")] = None,
    ) -> Any:
        try:
            opts = json.loads(options)
        except json.JSONDecodeError as e:
            raise ApiError(400, f"options is not JSON ({e.msg} at character {e.pos})") from None
        if not isinstance(opts, dict):
            raise ApiError(400, "options must be a JSON object")
        given = {
            "content": content,
            "style": style,
            "reference": reference,
            "style2": style2,
            "style3": style3,
            "style4": style4,
            "content_mask": content_mask,
            "style_mask": style_mask,
        }
        files = {n: f for n, f in given.items() if f is not None}
        try:
            opts = check(mode, opts, files)
        except InputError as e:
            raise ApiError(400, str(e)) from None
        inputs = {}
        for name, f in files.items():
            data = f.file.read(limit + 1)
            if len(data) > limit:
                raise ApiError(413, f"the {name} image is too large (at most {limit / 2**20:g} MB)")
            if not data:
                raise ApiError(400, f"the {name} image is empty")
            inputs[name] = data
        cls = job_class(mode, opts)
        job_id = new_job_id()
        store.create(job_id, client, mode, cls, opts, inputs)
        with store.guard():
            refusal = quota.admit(client, job_id, cls) if quota.active else None
        if refusal is not None:
            store.delete_owner_job(client, job_id)
            raise ApiError(429, refusal.message, {"Retry-After": str(refusal.retry_after_s)})
        try:
            enqueue(app_celery, config, job_id, cls)
        except Exception as e:  # noqa: BLE001 - kombu's errors when Redis went away just now
            store.delete_owner_job(client, job_id)
            raise BrokerDown(f"the job queue is not reachable ({e.__class__.__name__}); try again later") from None
        url = f"{base(request)}/jobs/{job_id}"
        return JSONResponse(
            {"id": job_id, "state": "queued", "class": cls, "url": url}, status_code=202, headers={"Location": url}
        )

    @api.get("/jobs", summary="Your jobs")
    def mine(request: Request, client: Client) -> Any:
        jobs = [store.get(i) for i in store.jobs_of(client)]
        return {"jobs": [_job_json(j, base(request)) for j in jobs if j is not None]}

    @api.get("/jobs/{job_id}", summary="A job's state, progress and result URL", responses={403: {}, 404: {}})
    def status(job_id: str, request: Request, client: Client) -> Any:
        return _job_json(own(job_id, client), base(request))

    @api.get(
        "/jobs/{job_id}/result",
        summary="The result (PNG; MP4 for a video job)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}, "video/mp4": {}}}, 403: {}, 404: {}, 409: {}, 410: {}},
    )
    def result(job_id: str, client: Client) -> Any:
        job = own(job_id, client)
        if job.state != "done":
            raise ApiError(409, f"the job is {job.state}" + (f": {job.error}" if job.error else "; no result yet"))
        data = store.result(job_id)
        if data is None:
            raise ApiError(410, "the result was deleted or has expired")
        media = store.meta(job_id).get("media_type", "image/png")
        ext = {"image/png": "png", "video/mp4": "mp4"}.get(media, "bin")
        return Response(
            data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{job_id}.{ext}"'}
        )

    @api.delete("/jobs/{job_id}", summary="Cancel a job and delete its images and result", responses={403: {}, 404: {}})
    def cancel(job_id: str, client: Client) -> Any:
        own(job_id, client)
        state = store.cancel(job_id)
        store.delete_data(job_id)
        return {"id": job_id, "state": state, "deleted": True}

    @api.delete("/jobs", summary="Delete all your jobs, uploads and results")
    def forget(client: Client) -> Any:
        return {"deleted": store.delete_owner(client)}

    api.state.store, api.state.auth = store, auth
    return api


def health_routes(config: ServiceConfig, store: JobStore) -> list[Any]:
    """``/healthz`` (the process answers) and ``/readyz`` (Redis answers; workers per class)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .tasks import live_workers

    async def healthz(request: Any) -> Any:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Any) -> Any:
        try:
            workers = await run_in_threadpool(live_workers, store)
        except BrokerDown as e:
            return JSONResponse(
                {"status": "unavailable", "error": str(e)}, status_code=503, headers={"Retry-After": "10"}
            )
        return JSONResponse({"status": "ready", "workers": workers})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


def attach(app: Any, config: ServiceConfig, auth: ApiAuth | None = None, **kwargs: Any) -> Any:
    """Mount the API at ``/v1`` and the health routes into a running Starlette/FastAPI ``app`` (first in
    its routing table, so nothing of the page shadows them); returns the API app."""
    from starlette.routing import Mount

    api = create_api(config, auth, **kwargs)
    app.router.routes[0:0] = [*health_routes(config, api.state.store), Mount("/v1", app=api)]
    return api


def create_server(config: ServiceConfig, auth: ApiAuth | None = None, **kwargs: Any) -> Any:
    """A front end with the API only (no page): run it with uvicorn."""
    app = FastAPI(title="styleforge", docs_url=None, redoc_url=None, openapi_url=None)
    attach(app, config, auth, **kwargs)
    return app
