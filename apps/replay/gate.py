"""Replay as a CI gate (SPEC §4.8): the exit code and the JUnit XML of a finished batch.

Pure Python over the batch's summary and its runs as replay_run.v1 dicts (apps.replay.selectors).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_NOT_JUDGED = 2  # no run reached the model (or the batch did not finish): nothing was judged


def gate_exit_code(summary: dict[str, Any]) -> int:
    """2 when the batch did not succeed (no run reached the model — it wins over regressions, since
    a dead model server says nothing about the model), 1 on any regression, 0 otherwise."""
    if summary["status"] != "succeeded":
        return EXIT_NOT_JUDGED
    return EXIT_REGRESSION if summary["regressions"] else EXIT_OK


def junit_xml(summary: dict[str, Any], runs: list[dict[str, Any]]) -> bytes:
    """One <testcase> per run (classname = task type, name = evidence id and run id): a failing run
    is a <failure> carrying the validator's codes, an errored run an <error>; the evidence a batch
    does not replay (SPEC §4.8 table) is one <skipped> case per task type with its count."""
    suite = ET.Element("testsuite", name=f"replay {summary['batch_id']}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_s = 0.0
    for run in sorted(runs, key=lambda r: (r["task_type"], r["evidence_id"], r["run_id"])):
        seconds = _seconds(run)
        total_s += seconds
        case = ET.SubElement(
            suite, "testcase", classname=run["task_type"], name=f"{run['evidence_id']} ({run['run_id']})", time=f"{seconds:.3f}"
        )
        counts["tests"] += 1
        if run["status"] == "fail":
            counts["failures"] += 1
            errors = run["validation"].get("errors") or []
            codes = [e.get("code", "") for e in errors]
            verdict = "regression" if run["regression"] else "failing (not a regression: it did not pass in the baseline)"
            failure = ET.SubElement(case, "failure", type=",".join(codes) or "FAIL", message=f"{verdict}: {', '.join(codes) or 'failed'}")
            failure.text = "\n".join(f"{e.get('code')}: {e.get('message', '')}" for e in errors)
        elif run["status"] == "error":
            counts["errors"] += 1
            ET.SubElement(case, "error", type="ERROR", message=run.get("error") or "error")
    for task_type, count in sorted((summary.get("skipped_by_type") or {}).items()):
        case = ET.SubElement(suite, "testcase", classname=task_type, name=f"{count} record(s) not replayed", time="0")
        ET.SubElement(case, "skipped", message=f"{task_type} is not replayed (SPEC §4.8)")
        counts["tests"] += 1
        counts["skipped"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total_s:.3f}")
    root = ET.Element("testsuites", name="replay", **{k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _seconds(run: dict[str, Any]) -> float:
    try:
        return max(0.0, (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds())
    except (KeyError, TypeError, ValueError):
        return 0.0
