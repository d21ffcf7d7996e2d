"""An in-memory GitHub (REST API + signed webhooks) for the demo and the end-to-end tests.

    sim = Simulator(webhook_url=..., webhook_secret=..., app_id=1)
    server = start(sim)                      # real HTTP on loopback; server.url is the API base
    sim.create_repo("acme", "support-bot", {"prompts/system.txt": "..."})
    inst = sim.install("acme")
    pr = sim.open_pull("acme/support-bot", "friendlier", {"prompts/system.txt": "..."}, "Friendlier", "alice")
"""

from bot.simulator.app import create_app, start
from bot.simulator.driver import Simulator, generate_private_key, public_key_of
from bot.simulator.events import sign
from bot.simulator.faults import Fault
from bot.simulator.state import Call
from bot.simulator.views import SimCheckRun, SimComment, SimDelivery, SimPull, SimRepo, SimReview

__all__ = ["Call", "Fault", "SimCheckRun", "SimComment", "SimDelivery", "SimPull", "SimRepo", "SimReview",
           "Simulator", "create_app", "generate_private_key", "public_key_of", "sign", "start"]
