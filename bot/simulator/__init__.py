"""An in-memory GitHub (REST API + signed webhooks) for the demo and the end-to-end tests.

    sim = Simulator(webhook_url=..., webhook_secret=..., app_id=1)
    server = start(sim)                      # real HTTP on loopback; server.url is the API base
    sim.create_repo("acme", "support-bot", {"prompts/system.txt": "..."})
    inst = sim.install("acme")
    pr = sim.open_pull("acme/support-bot", "friendlier", {"prompts/system.txt": "..."}, "Friendlier", "alice")

Layout (each module imports only those above it):
    records, gitobjects, diffs   what GitHub holds, as mutable records
    shapes, views, checks        GitHub's JSON of one record; frozen snapshots for tests
    state                        SimState: the one object holding every record, and lookups over it
    documents                    JSON that needs the state (URLs, diff statistics, the PRs at a commit)
    events, faults, http         webhook payloads and delivery; REST fault injection; auth and paging
    routes_*                     one component per group of REST routes, each given the state
    app                          the FastAPI app over the state and the components
    pulls, driver, server        what people do (PullDriver); the Simulator that composes it all; start()

Every route the app serves is validated against GitHub's OpenAPI description by a contract
test, or excused with a reason (tests/simulator/test_contract_coverage.py).
"""

from bot.simulator.driver import Simulator
from bot.simulator.events import sign
from bot.simulator.faults import Call, Fault
from bot.simulator.keys import generate_private_key, public_key_of
from bot.simulator.server import create_app, start
from bot.simulator.views import SimCheckRun, SimComment, SimDelivery, SimPull, SimRepo, SimReview

__all__ = ["Call", "Fault", "SimCheckRun", "SimComment", "SimDelivery", "SimPull", "SimRepo", "SimReview",
           "Simulator", "create_app", "generate_private_key", "public_key_of", "sign", "start"]
