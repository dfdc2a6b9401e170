"""SDMX-REST 1.5.0 data queries against the running service: paths, filters, layouts and details.

Answers are read back with the format-independent decoders of api_fixtures,
and compared with the national tables' numbers or the generated dataset.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta, timezone
from urllib.parse import quote

import orjson
import pytest
from lxml import etree

from api_fixtures import (BIG_MONTHS, BIG_SERIES, BILATERAL, BILATERAL_KEY, TOTALS, TOTALS_KEY, big_citizenships,
                          big_key, big_value, flow_key, records)

CSV_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
DATA_FORMATS = {
    "generic": "application/vnd.sdmx.genericdata+xml;version=2.1",
    "generic-ts": "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1",
    "ss": "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
    "ss-ts": "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1",
    "ml30": "application/vnd.sdmx.data+xml;version=3.0.0",
    "json10": "application/vnd.sdmx.data+json;version=1.0.0",
    "json20": "application/vnd.sdmx.data+json;version=2.0.0",
    "csv10": CSV_10,
    "csv20": "application/vnd.sdmx.data+csv;version=2.0.0",
}
TIME_SERIES_ONLY = ("generic-ts", "ss-ts")
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"


@pytest.fixture(scope="module")
def get(service):
    client = service.client()

    def fetch(path: str, status: int = 200, accept: str = CSV_10, **headers):
        response = client.get(path, headers={"Accept": accept, **headers})
        assert response.status_code == status, (path, response.status_code, response.data[:600])
        return response
    return fetch


@pytest.fixture(scope="module")
def found(get):
    """{(REF_AREA, INDICATOR, COUNTERPART_AREA, TIME_PERIOD): value} of a data path (200 expected)."""
    def read(path: str, accept: str = CSV_10):
        response = get(path, accept=accept)
        assert response.headers["Content-Type"] == accept
        return records(response.data, accept)
    return read


def error_code(response) -> str:
    root = etree.fromstring(response.data)
    return root[0].get("code")


@pytest.fixture(scope="module")
def big(service):
    """REST keys of the generated series: (citizenship, sex) -> key, in the order of their values."""
    keys = {}
    for citizenship in big_citizenships(service.catalog):
        for sex in ("F", "M"):
            keys[citizenship, sex] = ".".join(big_key(citizenship, sex))
    return keys


def periods(get, path: str) -> list[str]:
    """TIME_PERIOD of every row of an SDMX-CSV 1.0 answer, in order."""
    return [row["TIME_PERIOD"] for row in csv.DictReader(io.StringIO(get(path).data.decode()))]


# -- the path: flowRef, key, providerRef ------------------------------------------------------------

@pytest.mark.parametrize("flow_ref", ["DF_MIGR_FLOW", "CAMIG,DF_MIGR_FLOW", "CAMIG,DF_MIGR_FLOW,1.0",
                                      "CAMIG,DF_MIGR_FLOW,latest", "all,DF_MIGR_FLOW,latest"])
def test_one_two_and_three_part_flow_references(found, flow_ref):
    assert found(f"/data/{flow_ref}/{TOTALS_KEY}") == TOTALS


@pytest.mark.parametrize("flow_ref", ["DF_NOPE", "XX,DF_MIGR_FLOW", "CAMIG,DF_MIGR_FLOW,9.9"])
def test_an_unknown_dataflow_is_404(get, flow_ref):
    response = get(f"/data/{flow_ref}/all", 404)
    assert error_code(response) == "100"


@pytest.mark.parametrize("path", ["/data/A,B,C,D/all", "/data/DF_MIGR_FLOW/A.KZ", "/data/DF_MIGR_FLOW/A.K%20Z" +
                                  "." * 15, "/data/DF_MIGR_FLOW/all/A,B,C", "/data/DF_MIGR_FLOW/all?detail=most",
                                  "/data/DF_MIGR_FLOW/all?startPeriod=2020-13", "/data/DF_MIGR_FLOW/all?endPeriod=x",
                                  "/data/DF_MIGR_FLOW/all?updatedAfter=yesterday",
                                  "/data/DF_MIGR_FLOW/all?firstNObservations=0",
                                  "/data/DF_MIGR_FLOW/all?lastNObservations=-1",
                                  "/data/DF_MIGR_FLOW/all?lastNObservations=two",
                                  "/data/DF_MIGR_FLOW/all?dimensionAtObservation=NOPE",
                                  "/data/DF_MIGR_FLOW/all?includeHistory=maybe",
                                  "/data/DF_MIGR_FLOW/all?startPerod=2017"])
def test_syntax_errors_are_400_with_sdmx_code_140(get, path):
    assert error_code(get(path, 400)) == "140"


@pytest.mark.parametrize("key", ["", "/all", "/" + "." * 15])
def test_no_key_all_and_an_empty_key_mean_every_series(get, key):
    rows = list(csv.DictReader(io.StringIO(get(f"/data/DF_MIGR_FLOW{key}").data.decode())))
    areas = {r["REF_AREA"] for r in rows}  # Kazakhstan, Kyrgyzstan, Tajikistan and its regions
    assert len(rows) == 150 and {"KZ", "KG", "TJ"} <= areas and all(a.startswith("TJ-") for a in areas - {"KZ", "KG",
                                                                                                           "TJ"})


def test_empty_segments_are_wildcards_and_plus_is_or(found):
    assert found(f"/data/DF_MIGR_FLOW/{BILATERAL_KEY}") == BILATERAL
    everything = found(f"/data/DF_MIGR_FLOW/{flow_key(REF_AREA='KG', INDICATOR='EMI')}")
    assert BILATERAL.items() <= everything.items() and len(everything) == 9 * 2


def test_a_key_with_some_unknown_codes_returns_what_matches(found):
    key = flow_key(FREQ="A+Q", REF_AREA="KZ+KG+XX+UZ", INDICATOR="IMM+EMI+NETM+NOPE", COUNTERPART_AREA="_T")
    assert found(f"/data/DF_MIGR_FLOW/{key}") == TOTALS


@pytest.mark.parametrize("query", [flow_key(REF_AREA="XX"), flow_key(REF_AREA="KZ", INDICATOR="ARR_INT"),
                                   f"{TOTALS_KEY}?startPeriod=2030", f"{TOTALS_KEY}?endPeriod=1990",
                                   f"{TOTALS_KEY}/TJ_STAT"])
def test_nothing_matching_is_404_with_sdmx_code_100(get, query):
    response = get(f"/data/DF_MIGR_FLOW/{query}", 404)
    assert error_code(response) == "100" and response.content_type == "application/xml"


@pytest.mark.parametrize("provider,areas", [("all", {"KZ", "KG"}), ("KZ_BNS", {"KZ"}), ("CAMIG,KG_NSC", {"KG"}),
                                            ("KZ_BNS+KG_NSC", {"KZ", "KG"}), ("KG_NSC+TJ_STAT", {"KG"}),
                                            ("CAMIG,KZ_BNS+CAMIG,KG_NSC", {"KZ", "KG"})])
def test_provider_references(found, provider, areas):
    answer = found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}/{provider}")
    assert answer == {k: v for k, v in TOTALS.items() if k[0] in areas}


# -- periods -------------------------------------------------------------------------------------------

MONTHS_2020 = [f"2020-{m:02d}" for m in range(1, 13)]


@pytest.mark.parametrize("start,end,expected", [
    ("2020", None, [*MONTHS_2020, "2021-01"]),  # cut to 13 for the assertion below
    ("2020-A1", "2020-A1", MONTHS_2020),
    ("2020", "2020", MONTHS_2020),
    ("2020-01", "2020-12", MONTHS_2020),
    ("2020-01-01", "2020-12-31", MONTHS_2020),
    ("2020-01-01T00:00:00", "2020-03-31T23:59:59", MONTHS_2020[:3]),
    (None, "2019-S1", [f"2019-{m:02d}" for m in range(1, 7)]),
    ("2020-S2", "2020-S2", MONTHS_2020[6:]),
    ("2020-Q2", "2020-Q3", MONTHS_2020[3:9]),
    ("2020-M03", "2020-M04", ["2020-03", "2020-04"]),
    ("2020-W10", "2020-W10", ["2020-03"]),  # 2 to 8 March 2020
    ("2020-D060", "2020-D060", ["2020-02"]),  # 29 February 2020
    ("2023-02", None, ["2023-02"]),
])
def test_start_and_end_period_in_every_form(get, big, start, end, expected):
    query = "&".join(f"{name}={value}" for name, value in (("startPeriod", start), ("endPeriod", end)) if value)
    answer = periods(get, f"/data/DF_MIGR_STOCK/{next(iter(big.values()))}?{query}")
    assert answer[:len(expected)] == expected
    if end is not None or start == "2023-02":
        assert answer == expected
    else:
        assert answer[-1] == BIG_MONTHS[-1]


def test_periods_of_annual_data(found):
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?startPeriod=2018") == {k: v for k, v in TOTALS.items()
                                                                          if k[3] == "2018"}
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?endPeriod=2017-12") == {k: v for k, v in TOTALS.items()
                                                                           if k[3] == "2017"}
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?startPeriod=2017-Q4&endPeriod=2018-Q1") == TOTALS


# -- updatedAfter and asOf -----------------------------------------------------------------------------

def _instant(moment, offset_hours: int = 0) -> str:
    zone = timezone(timedelta(hours=offset_hours))
    text = moment.astimezone(zone).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if offset_hours == 0 else text


@pytest.mark.parametrize("offset", [0, 5, -3])
def test_updated_after_in_utc_and_with_an_offset(service, get, found, offset):
    changed = service.store.last_modified(FLOW)
    before, after = changed - timedelta(seconds=2), changed + timedelta(seconds=2)
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?updatedAfter={quote(_instant(before, offset))}") == TOTALS
    response = get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?updatedAfter={quote(_instant(after, offset))}", 404)
    assert error_code(response) == "100"


def test_updated_after_with_an_unencoded_plus(service, found):
    """A '+' left unencoded in the query arrives as a space; the offset is still read."""
    changed = service.store.last_modified(FLOW) - timedelta(hours=1)
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?updatedAfter={_instant(changed, 6)}") == TOTALS


def test_as_of(service, get, found):
    changed = service.store.last_modified(FLOW)
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?asOf={quote(_instant(changed + timedelta(seconds=1), 5))}") \
        == TOTALS
    assert error_code(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?asOf=2001-01-01T00:00:00Z", 404)) == "100"


def test_include_history_gives_one_data_set_per_write(get):
    accept = DATA_FORMATS["generic"]
    body = get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?includeHistory=true", accept=accept).data
    datasets = [e for e in etree.fromstring(body) if etree.QName(e).localname == "DataSet"]
    assert len(datasets) == 2  # the Kyrgyz and the Kazakh table, one submission each
    assert all(d.get("validFromDate") and d.get("action") == "Replace" for d in datasets)
    assert records(body, accept) == TOTALS
    assert get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?includeHistory=false").status_code == 200


def test_include_history_refuses_what_cannot_say_it(get):
    assert error_code(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?includeHistory=true", 406)) == "140"
    assert error_code(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?includeHistory=true&lastNObservations=1", 501,
                          accept=DATA_FORMATS["generic"])) == "501"


# -- first and last N observations -------------------------------------------------------------------

@pytest.mark.parametrize("query,months", [
    ("firstNObservations=2", BIG_MONTHS[:2]),
    ("lastNObservations=3", BIG_MONTHS[-3:]),
    ("lastNObservations=2&endPeriod=2020-06", ["2020-05", "2020-06"]),
    ("firstNObservations=1&startPeriod=2021-Q3", ["2021-07"]),
    ("lastNObservations=100", BIG_MONTHS),
])
def test_first_and_last_n_observations_per_series(get, query, months):
    key = flow_key(FREQ="M", REF_AREA="KZ", INDICATOR="POP_FCIT")
    rows = list(csv.DictReader(io.StringIO(get(f"/data/DF_MIGR_STOCK/{key}?{query}").data.decode())))
    by_series: dict[tuple, list[str]] = {}
    for row in rows:
        by_series.setdefault((row["CITIZENSHIP"], row["SEX"]), []).append(row["TIME_PERIOD"])
    assert len(by_series) == BIG_SERIES
    assert all(found == list(months) for found in by_series.values())


def test_the_generated_values_come_back(get, big):
    rows = csv.DictReader(io.StringIO(get("/data/DF_MIGR_STOCK/all?firstNObservations=1&lastNObservations=1")
                                      .data.decode()))
    values = {(r["CITIZENSHIP"], r["SEX"], r["TIME_PERIOD"]): float(r["OBS_VALUE"]) for r in rows}
    for index, (citizenship, sex) in enumerate(big):
        assert values[citizenship, sex, BIG_MONTHS[-1]] == big_value(index, len(BIG_MONTHS) - 1)


# -- dimension at observation, in every format -----------------------------------------------------

@pytest.mark.parametrize("name", DATA_FORMATS)
@pytest.mark.parametrize("at_obs", ["TIME_PERIOD", "AllDimensions", "COUNTERPART_AREA", None])
def test_dimension_at_observation_in_every_format(get, found, name, at_obs):
    accept = DATA_FORMATS[name]
    suffix = f"?dimensionAtObservation={at_obs}" if at_obs else ""
    if name in TIME_SERIES_ONLY and at_obs not in ("TIME_PERIOD", None):
        assert error_code(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}{suffix}", 400, accept=accept)) == "140"
        return
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}{suffix}", accept) == TOTALS
    assert found(f"/data/DF_MIGR_FLOW/{BILATERAL_KEY}{suffix}", accept) == BILATERAL


# -- detail --------------------------------------------------------------------------------------------

def _generic_parts(body: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for element in etree.fromstring(body).iter():
        name = etree.QName(element).localname
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.parametrize("detail,obs,attributes,series", [
    ("full", 9, True, 6), ("dataonly", 9, False, 6), ("serieskeysonly", 0, False, 6), ("nodata", 0, True, 6),
])
def test_detail_values(get, detail, obs, attributes, series):
    parts = _generic_parts(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?detail={detail}",
                               accept=DATA_FORMATS["generic"]).data)
    assert parts.get("Obs", 0) == obs and parts.get("Series", 0) == series
    assert ("Attributes" in parts) == attributes


@pytest.mark.parametrize("detail", ["full", "dataonly", "serieskeysonly", "nodata"])
def test_detail_in_sdmx_csv(get, detail):
    rows = list(csv.DictReader(io.StringIO(get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?detail={detail}").data.decode())))
    with_obs = detail in ("full", "dataonly")
    assert len(rows) == (9 if with_obs else 6)
    assert ("OBS_VALUE" in rows[0]) == with_obs and ("TIME_PERIOD" in rows[0]) == with_obs
    assert ("UNIT_MEASURE" in rows[0]) == (detail in ("full", "nodata"))
    assert ("OBS_STATUS" in rows[0]) == (detail == "full")


@pytest.mark.parametrize("name", [n for n in DATA_FORMATS if n not in TIME_SERIES_ONLY])
@pytest.mark.parametrize("at_obs", ["AllDimensions", "COUNTERPART_AREA"])
@pytest.mark.parametrize("detail", ["serieskeysonly", "nodata"])
def test_series_keys_without_observations_in_every_layout(get, name, at_obs, detail):
    """Without observations there is nothing to cut cross-sections or flat observations from:
    the series come as time series, and none goes missing."""
    accept = DATA_FORMATS[name]
    body = get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?detail={detail}&dimensionAtObservation={at_obs}",
               accept=accept).data
    if "+csv" in accept:
        count = len(list(csv.DictReader(io.StringIO(body.decode()))))
    elif "json" in accept:
        count = len(orjson.loads(body)["data"]["dataSets"][0]["series"])
    else:
        count = _generic_parts(body).get("Series", 0)
    assert count == 6


@pytest.mark.parametrize("form", ["2017", "2017-01", "2017-01-01", "2017-A1", "2017-S1", "2017-Q1", "2017-M01",
                                  "2017-W01", "2017-D001", "2017-01-01T00:00:00"])
def test_every_period_form_against_annual_data(found, form):
    """A period of 2017 as start keeps 2017 (it overlaps) and 2018; as end, 2017 only."""
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?startPeriod={form}") == TOTALS
    assert found(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?endPeriod={form}") == {k: v for k, v in TOTALS.items()
                                                                          if k[3] == "2017"}
