"""The answer to an accepted data submission, as JSON (the default) or XML.

Rule: bytes out of plain values (a write summary as a dict); no I/O.

The data-maintenance draft (docs-v2-draft-data-maintenance/maintenance.md,
Annex III) calls this message ``SubmitDataResponse``: per dataset its
dataflow, action and status; then the result of the whole submission.
SDMX-JSON has no such message yet and no released SDMX-ML schema defines
it, so both are this service's own, documented here:

JSON (``application/json``)::

    {"submission": 17, "status": "Success", "code": 200, "provider": "KG_NSC",
     "receivedAt": "2024-05-01T10:00:00+00:00", "releaseAt": null,
     "message": "accepted: 312 observations added, 4 replaced, 0 deleted, submission 17",
     "added": 312, "replaced": 4, "deleted": 0, "unchanged": 0,
     "datasets": [{"dataflow": "CAMIG:DF_MIGR_FLOW(1.0)", "urn": "urn:sdmx:...", "action": "Merge",
                   "series": 3, "added": 312, "replaced": 4, "deleted": 0, "unchanged": 0}],
     "report": {"valid": true, "errors": 0, "warnings": 0, ...},
     "links": [{"rel": "submission", "href": ".../submissions/17"}]}

XML (``application/xml``): the draft's element names in the namespace
``urn:migstat:submission:1.0``::

    <SubmitDataResponse xmlns="urn:migstat:submission:1.0" submission="17" provider="KG_NSC" receivedAt="...">
      <SubmittedData urn="urn:sdmx:...Dataflow=CAMIG:DF_MIGR_FLOW(1.0)" dataflow="CAMIG:DF_MIGR_FLOW(1.0)"
                     action="Merge" series="3" added="312" replaced="4" deleted="0" unchanged="0">
        <StatusMessage status="Success"><Text xml:lang="en">312 added, 4 replaced, ...</Text></StatusMessage>
      </SubmittedData>
      <SubmissionResult code="200">
        <StatusMessage status="Success"><Text xml:lang="en">accepted: ...</Text></StatusMessage>
      </SubmissionResult>
    </SubmitDataResponse>
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from .sdmx_ml_generic import escape

NAMESPACE = "urn:migstat:submission:1.0"
JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
DATAFLOW_URN = "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow="


def dataset_text(dataset: Mapping[str, Any]) -> str:
    return (f"{dataset.get('added', 0)} observations added, {dataset.get('replaced', 0)} replaced, "
            f"{dataset.get('deleted', 0)} deleted, {dataset.get('unchanged', 0)} unchanged "
            f"in {dataset.get('series', 0)} series")


def submission_answer(summary: Mapping[str, Any], *, provider: str, message: str, release_at: str | None,
                      report: Mapping[str, Any] | None, location: str, code: int = 200) -> dict:
    """The answer as plain values, from ``WriteSummary.as_dict()``."""
    datasets = [{"dataflow": d["dataflow"], "urn": DATAFLOW_URN + d["dataflow"], "action": d["action"],
                 "series": d.get("series", 0), "added": d.get("added", 0), "replaced": d.get("replaced", 0),
                 "deleted": d.get("deleted", 0), "unchanged": d.get("unchanged", 0)}
                for d in summary.get("datasets", ())]
    return {"submission": summary["submission_id"], "status": "Success", "code": code, "provider": provider,
            "receivedAt": summary.get("received_at"), "releaseAt": release_at, "message": message,
            "added": summary.get("added", 0), "replaced": summary.get("replaced", 0),
            "deleted": summary.get("deleted", 0), "unchanged": summary.get("unchanged", 0),
            "datasets": datasets, "report": dict(report) if report else None,
            "links": [{"rel": "submission", "href": location}]}


def write_answer_json(answer: Mapping[str, Any]) -> bytes:
    return orjson.dumps(answer)


def write_answer_xml(answer: Mapping[str, Any]) -> bytes:
    release = f' releaseAt="{escape(answer["releaseAt"])}"' if answer.get("releaseAt") else ""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             f'<SubmitDataResponse xmlns="{NAMESPACE}" submission="{int(answer["submission"])}" '
             f'provider="{escape(answer["provider"])}" receivedAt="{escape(answer.get("receivedAt") or "")}"'
             f'{release}>\n']
    for dataset in answer["datasets"]:
        counts = "".join(f' {name}="{int(dataset[name])}"'
                         for name in ("series", "added", "replaced", "deleted", "unchanged"))
        parts.append(f'<SubmittedData urn="{escape(dataset["urn"])}" dataflow="{escape(dataset["dataflow"])}" '
                     f'action="{escape(dataset["action"])}"{counts}>'
                     f'<StatusMessage status="Success"><Text xml:lang="en">{escape(dataset_text(dataset))}</Text>'
                     "</StatusMessage></SubmittedData>\n")
    parts.append(f'<SubmissionResult code="{int(answer["code"])}"><StatusMessage status="Success">'
                 f'<Text xml:lang="en">{escape(answer["message"])}</Text></StatusMessage>'
                 f'<Link rel="submission" href="{escape(answer["links"][0]["href"])}"/></SubmissionResult>\n')
    parts.append("</SubmitDataResponse>\n")
    return "".join(parts).encode()
