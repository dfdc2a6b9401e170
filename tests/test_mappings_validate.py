"""Validation of data against a structure (service.model.validate), on small series built by code."""

from __future__ import annotations

from mappings_fixtures import CODELISTS, CONSTRAINT, STRUCTURE, obs, sample_series, series

from service.model.data import Observation, Series
from service.model.validate import check_series, validate_series


def codes_of(report):
    return sorted((p.code, p.object_id, p.value) for p in report.problems)


def test_valid_sample_has_no_problem():
    report = check_series(sample_series(), STRUCTURE, CODELISTS, CONSTRAINT)
    assert report.valid and report.warning_count == 0, report.to_dict()
    assert report.stats == {"series": 3, "observations": 7}


def test_validate_series_passes_series_through():
    data = sample_series()
    assert list(validate_series(data, STRUCTURE, CODELISTS, CONSTRAINT)) == data


def test_unknown_and_constrained_codes_reported_once_each():
    data = [series("A.XX.IMM._T", obs("2017", 1.0)), series("A.XX.EMI._T", obs("2017", 1.0)),
            series("A.RU.IMM._T", obs("2017", 1.0))]
    report = check_series(data, STRUCTURE, CODELISTS, CONSTRAINT)
    assert codes_of(report) == [("not-allowed", "REF_AREA", "RU"), ("unknown-code", "REF_AREA", "XX")]


def test_key_problems():
    data = [Series(("A", "KZ", "IMM"), [obs("2017", 1.0)], {"UNIT_MULT": "0"}),
            Series(("A", "", "IMM", "_T"), [obs("2017", 1.0)], {"UNIT_MULT": "0"})]
    assert [p.code for p in check_series(data, STRUCTURE, CODELISTS).problems] == ["bad-key", "missing-dimension"]


def test_time_period_must_match_freq():
    data = [series("A.KZ.IMM._T", obs("2017-Q1", 1.0), obs("2017-A1", 2.0), obs("17", 3.0)),
            series("Q.KZ.IMM._T", obs("2017-Q5", 1.0), obs("2017-Q4", 1.0)),
            series("M.KZ.IMM._T", obs("2017-13", 1.0), obs("2017-12", 1.0))]
    report = check_series(data, STRUCTURE, CODELISTS)
    assert [(p.code, p.value) for p in report.problems] == [
        ("bad-time-period", "2017-Q1"), ("bad-time-period", "17"), ("bad-time-period", "2017-Q5"),
        ("bad-time-period", "2017-13")]


def test_missing_value_needs_a_status_saying_why():
    data = [series("A.KZ.IMM._T", obs("2017", None, "A", row=5, column="C"), obs("2018", None, "O"),
                   obs("2019", float("nan"), "A"))]
    report = check_series(data, STRUCTURE, CODELISTS)
    assert [(p.code, p.row, p.column) for p in report.problems] == [
        ("missing-without-status", 5, "C"), ("missing-without-status", None, None)]


def test_values_must_be_numbers():
    data = [Series(("A", "KZ", "IMM", "_T"), [Observation("2017", "12", {"OBS_STATUS": "A"}),
                                               Observation("2018", float("inf"), {"OBS_STATUS": "A"}),
                                               Observation("2019", 3, {"OBS_STATUS": "A"})], {"UNIT_MULT": "0"})]
    assert [p.code for p in check_series(data, STRUCTURE, CODELISTS).problems] == ["bad-value", "bad-value"]


def test_attributes_mandatory_coded_and_at_their_level():
    data = [series("A.KZ.IMM._T", Observation("2017", 1.0, {}), unit_mult=None),
            series("A.KZ.EMI._T", obs("2017", 1.0, "Z", CONF_STATUS="C", UNIT_MULT="0", NOPE="1"),
                   COMMENT_OBS="wrong level")]
    report = check_series(data, STRUCTURE, CODELISTS)
    assert codes_of(report) == [
        ("missing-attribute", "OBS_STATUS", None), ("missing-attribute", "UNIT_MULT", None),
        ("unknown-attribute", "COMMENT_OBS", "wrong level"), ("unknown-attribute", "NOPE", "1"),
        ("unknown-attribute", "UNIT_MULT", "0"), ("unknown-code", "OBS_STATUS", "Z")]


def test_duplicates_name_both_places():
    data = [series("A.KZ.IMM._T", obs("2017", 1.0, row=4, column="B")),
            series("A.KZ.IMM._T", obs("2017", 2.0, row=9, column="B"))]
    (problem,) = check_series(data, STRUCTURE, CODELISTS).problems
    assert (problem.code, problem.row, problem.column, problem.file) == ("duplicate-observation", 9, "B", "table.csv")
    assert "first at row 4, column B" in problem.message


def test_missing_codelist_is_reported_and_codes_unchecked():
    partial = {k: v for k, v in CODELISTS.items() if k.id != "CL_AREA"}
    report = check_series([series("A.XX.IMM._T", obs("2017", 1.0))], STRUCTURE, partial)
    assert [p.code for p in report.problems] == ["missing-codelist"]
