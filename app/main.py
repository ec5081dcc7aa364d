"""The ASGI application: API routes, error handler, and the controller running beside them."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import backends, errors
from app.api import (
    docs,
    exam_codes,
    grades,
    incidents,
    metrics,
    pools,
    reports,
    scenarios,
    sessions,
    sittings,
)
from app.catalog import Catalog
from app.config import Settings, get_settings
from app.consoles import ConsoleHub, ConsoleSource
from app.controller import Controller
from app.db import CONTROLLER_THREADS, REQUEST_THREADS, instance_id, make_engine, migrate
from app.service_lock import holding
from app.terminals import Budgets, TerminalHub
from app.throttle import SignInGuard
from app.web import (
    console_ws,
    history,
    incident_pages,
    not_found,
    pages,
    signin,
    sitting_pages,
    terminal_ws,
)
from app.web.ws_guard import Seats
from labs.driver import LabDriver


def create_app(
    settings: Settings | None = None, driver: LabDriver | None = None, run_controller: bool = True
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        # The controller's waits (a lab's build, a cut-off, a grading) each hold a thread of the
        # loop's executor for seconds, and its default is 6 on two cores: a deadline fell due
        # while all six waited, and its "time is up" came 6 s late (ten 40 s exams ending).
        executor = ThreadPoolExecutor(CONTROLLER_THREADS, thread_name_prefix="controller")
        asyncio.get_running_loop().set_default_executor(executor)
        engine = make_engine(settings.db_url)
        migrate(engine)
        instance = instance_id(engine)
        local = driver or backends.lab_driver(settings, instance)
        catalog = Catalog(settings.scenarios_dir, settings.node_capabilities)
        lab_driver = backends.platform_driver(settings, engine, catalog, instance, local)
        app.state.engine, app.state.driver, app.state.catalog = engine, lab_driver, catalog
        app.state.settings = settings
        recordings = settings.data_dir / "recordings"
        budgets = Budgets(recordings, settings.recording_cap_mib * 1024 * 1024)
        terminals = TerminalHub(recordings, budgets)
        app.state.terminals = terminals
        app.state.seats = Seats(settings.terminals_per_node, settings.watchers_per_node)
        source = local if isinstance(local, ConsoleSource) else None  # VMs' consoles
        consoles = ConsoleHub(recordings, source, budgets)
        app.state.consoles = consoles
        controller = Controller(engine, settings, lab_driver, catalog, terminals, consoles)
        app.state.controller = controller
        loop_task = None
        if run_controller:
            await controller.reopen_access()
            loop_task = asyncio.create_task(controller.run())
        # What is made at start-up (modules, templates, the catalog) lives until the end: kept
        # out of the collector's full passes, which otherwise walk it about once a second
        # under steady requests and pause every answer meanwhile.
        gc.freeze()
        yield
        if loop_task is not None:
            loop_task.cancel()
        await controller.stop()
        engine.dispose()

    app = FastAPI(
        title="Praxis",
        version="0.1.0",
        lifespan=lifespan,
        description="Hands-on IT exams: per-candidate labs, a clock, graded evidence.",
        docs_url=None,  # served by app.api.docs, to signed-in staff only
        redoc_url=None,
        openapi_url=None,
        responses=errors.RESPONSES,
    )
    app.state.signin = SignInGuard(
        settings.signin_per_address,
        settings.signin_per_name,
        settings.signin_hashes,
        settings.signin_window,
        settings.signin_hash_wait,
    )
    errors.install(app)
    not_found.install(app)
    app.include_router(sessions.router)
    app.include_router(exam_codes.router)
    app.include_router(sittings.router)
    app.include_router(pools.router)
    app.include_router(incidents.router)
    app.include_router(scenarios.router)
    app.include_router(grades.router)
    app.include_router(reports.router)
    app.include_router(docs.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.include_router(sitting_pages.router)
    app.include_router(signin.router)
    app.include_router(incident_pages.router)
    app.include_router(history.router)
    app.include_router(terminal_ws.router)
    app.include_router(console_ws.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/api/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(settings: Settings) -> None:
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Before any thread starts (a thread inherits its creator's): the service answers before
    # batch work (gradings, image builds) and the labs' own load take the cores.
    try:
        os.setpriority(os.PRIO_PROCESS, 0, settings.service_niceness)
    except PermissionError:
        logging.warning("cannot run at niceness %d (not root)", settings.service_niceness)
    # One service per data folder (a restore waits for none). A stop waits at most 10 s for
    # open connections: a browser that stopped reading its terminal would hold it forever.
    app = create_app(settings)
    # What start-up imported (~190k objects) lives as long as the service: kept out of the
    # cyclic collector, whose full passes held the GIL ~75 ms (150 ms on a busy host) while
    # every request waited, and now scan only what came after.
    gc.collect()
    gc.freeze()
    with holding(settings.data_dir):
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            timeout_graceful_shutdown=10,
        )
