"""The README's API walk-through cannot drift: its exact shell commands run against the live test
server (BASE, TOKEN and ORDER substituted as the README says to set them), and what they did is
checked in the database."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings

README = Path(settings.BASE_DIR) / "README.md"


def workflow_commands() -> str:
    """The second ```sh block of the README's "The coordinator's workflow" (the first sets the variables)."""
    text = README.read_text()
    section = text.split("### The coordinator's workflow", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2 and "export BASE=" in blocks[0], blocks
    return blocks[1]


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None, reason="the README's commands need curl and jq")
def test_the_readme_coordinator_workflow_runs_as_written(live_server, transactional_db, tmp_path):
    from apps.core.services import issue_api_token
    from apps.interactions.models import Interaction
    from apps.interactions.services import drain_interaction_queue
    from apps.orders.models import FillProposal, JobOrder
    from apps.orders.services import order_create
    from apps.playbooks.models import Playbook
    from apps.workers.models import Worker
    from apps.workers.services import reembed_workers

    workers = [
        Worker.objects.create(
            worker_id=f"W-RD-{i}", first_name="Ana", last_name="Diaz", city="Columbus", state="OH", role="forklift_operator",
            certifications=["OSHA-10"], shift_preference=["night"], status="active", phone=f"+1614555010{i}",
        )
        for i in (1, 2)
    ]
    reembed_workers([w.pk for w in workers])
    start = date.today() + timedelta(days=7)
    order_create(
        order_id="ORD-README", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=2,
        shift="night", start_date=start, required_certifications=["OSHA-10"],
    )
    token = issue_api_token(username="readme-coordinator", staff=False)[1]

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", workflow_commands()],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "BASE": live_server.url, "TOKEN": token, "ORDER": "ORD-README"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.split()
    assert "accepted" in lines and "accept" in lines, run.stdout
    # The history lists the two decisions, newest first (the playbook record and feedback are not decisions).
    assert lines[-2:] == ["proposal_accepted:readme-coordinator", "proposal_created:readme-coordinator"], run.stdout

    assert JobOrder.objects.get(order_id="ORD-README").status == "filled"
    proposal = FillProposal.objects.get(order__order_id="ORD-README")
    assert (proposal.status, sorted(proposal.worker_ids)) == ("accepted", ["W-RD-1", "W-RD-2"])
    assert sorted(Playbook.objects.values_list("outcome", flat=True)) == ["filled", "no_show"]
    drain_interaction_queue()  # the server queued its interaction rows (apps.interactions.services)
    feedback = Interaction.objects.get(kind="feedback")
    search = Interaction.objects.get(kind="search")
    assert feedback.request["target_id"] == str(search.pk)
