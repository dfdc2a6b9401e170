"""Validation of data against a data structure, the codelists and a dataflow's constraint.

Pure: model objects in, Problems out through a Report; no I/O. The converter
of national tables and the push API run every series through here before a
byte is written or stored. Rules, each with its slug:

``bad-key``                  a series key without one code per dimension
``missing-dimension``        an empty code in a key
``unknown-code``             a code (dimension or coded attribute) not in its codelist
``not-allowed``              a code outside the dataflow's Allowed constraint
``missing-codelist``         a component's codelist is not available
``bad-time-period``          TIME_PERIOD empty or not a period of the series' FREQ
``bad-value``                OBS_VALUE neither a finite number nor missing
``missing-without-status``   a missing OBS_VALUE whose OBS_STATUS does not say why
``missing-attribute``        a mandatory attribute absent
``unknown-attribute``        an attribute the structure does not define (or at another level)
``duplicate-observation``    the same series key and time period twice
``bad-text``                 a text attribute longer than its maxLength (MAX_TEXT_LENGTH when the DSD sets
                             none), or holding a character XML 1.0 cannot carry (a control character other
                             than tab and line breaks, U+FFFE, U+FFFF): every value accepted can be served
                             as it was sent in every format

Checks are cached per distinct key, code and period, so a long stream costs
little more than one dictionary lookup per observation. A series whose
observations are held in columns (``ObservationColumns``, from the converter
of long files) is checked a column at a time when everything in it is
already known good; otherwise it goes observation by observation, which
reports what is wrong in the same words and order.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Iterator, Mapping, Sequence

from .data import NumberedTexts, ObservationColumns, Origin, Series
from .period import period_matches_freq
from .report import Problem, Report
from .structure import OBSERVATION, SERIES, Codelist, ContentConstraint, DataStructure, MaintainableRef

#: OBS_STATUS codes (SDMX CL_OBS_STATUS) that explain why an observation has no value.
MISSING_STATUSES = frozenset({"O", "M", "L", "H", "Q", "K", "J", "S"})

FREQ = "FREQ"
OBS_STATUS = "OBS_STATUS"

#: Sets of shared observation attributes remembered as good (the converter shares a few among millions).
GOOD_SHARED = 1024
#: The longest text attribute value accepted when the DSD gives no maxLength (characters).
MAX_TEXT_LENGTH = 65_536
#: Characters an XML 1.0 document cannot contain (and surrogates, which no UTF-8 text holds).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class DataValidator:
    """Checks series of one structure; problems go to ``report``.

    ``codelists`` maps each codelist reference of the structure to its
    Codelist (a missing one is reported once). ``constraint`` is the
    dataflow's Allowed constraint, or None.
    """

    def __init__(self, structure: DataStructure, codelists: Mapping[MaintainableRef, Codelist],
                 constraint: ContentConstraint | None = None, report: Report | None = None):
        self.structure = structure
        self.report = report if report is not None else Report()
        self.dimension_ids = structure.dimension_ids
        self.freq_index = self.dimension_ids.index(FREQ) if FREQ in self.dimension_ids else None
        components = (*structure.dimensions, *structure.attributes)
        self.codes: dict[str, frozenset[str] | None] = {}
        self.allowed: dict[str, frozenset[str] | None] = {}
        missing: set[MaintainableRef] = set()
        for comp in components:
            ref = comp.representation.codelist
            codelist = codelists.get(ref) if ref is not None else None
            if ref is not None and codelist is None and ref not in missing:
                missing.add(ref)
                self.report.error("missing-codelist", f"codelist {ref} of {comp.id} is not available; its codes "
                                  "cannot be checked", object_id=comp.id)
            self.codes[comp.id] = frozenset(codelist.by_id) if codelist is not None else None
            self.allowed[comp.id] = constraint.allowed(comp.id) if constraint is not None else None
        self.obs_attributes = {a.id for a in structure.attributes_at(OBSERVATION)}
        self.series_attributes = {a.id for a in structure.attributes_at(SERIES)}
        self.mandatory_obs = tuple(a.id for a in structure.attributes_at(OBSERVATION) if a.mandatory)
        self.mandatory_series = tuple(a.id for a in structure.attributes_at(SERIES) if a.mandatory)
        self.flagged: set[tuple[str, str]] = set()  # (component, code) already reported
        self.keys_checked: set[tuple[str, ...]] = set()
        self.good_key_codes: list[set[str]] = [set() for _ in self.dimension_ids]  # per dimension: codes passed
        self.good_periods: dict[str, set[str]] = {}  # FREQ -> periods known good
        self.good_obs_attrs: dict[str, set[str]] = {}  # attribute -> values known good
        self.good_series_attrs: set[tuple[str, str]] = set()
        self.last_good_attributes: Mapping[str, str] | None = None  # series attributes that passed, last seen
        #: observation attributes shared by observations held in columns that passed, by id
        self.good_shared: dict[int, Mapping[str, str]] = {}
        self.good_prefix = ""  # the prefix of NumberedTexts last found printable
        #: the good periods of a frequency, and the periods of a series held in columns that passed them
        self.last_good_periods: tuple[set[str] | None, Sequence[str]] = (None, ())
        self.seen: dict[tuple[str, ...], dict[str, Origin | None]] = {}  # key -> period -> where first seen
        #: uncoded observation attributes: any text will do, so they are not checked value by value
        self.text_obs_attributes = frozenset(a.id for a in structure.attributes_at(OBSERVATION)
                                             if a.representation.codelist is None and self.allowed.get(a.id) is None)
        #: the longest value of each text attribute
        self.max_text = {a.id: a.representation.max_length or MAX_TEXT_LENGTH for a in structure.attributes
                         if a.representation.codelist is None}
        self.series_count = 0
        self.observation_count = 0

    # -- the stream ------------------------------------------------------
    def __call__(self, series: Iterable[Series]) -> Iterator[Series]:
        """Yield every series after checking it (valid or not: the report says)."""
        for one in series:
            self.check_series(one)
            yield one
        self.report.stats.update(series=self.series_count, observations=self.observation_count)

    def check_all(self, series: Iterable[Series]) -> Report:
        for _ in self(series):
            pass
        return self.report

    # -- one series ------------------------------------------------------
    def check_series(self, series: Series) -> None:
        self.series_count += 1
        key = series.key
        where = series.origin or (series.observations[0].origin if series.observations else None)
        if key not in self.keys_checked:
            self.keys_checked.add(key)
            self.check_key(key, where)
        attrs = series.attributes
        if attrs is not self.last_good_attributes:  # consecutive series often share their attributes
            problems = self.report.error_count + self.report.warning_count
            for attr_id, value in attrs.items():
                if (attr_id, value) not in self.good_series_attrs:
                    if self.check_attribute(attr_id, value, self.series_attributes, "series", where):
                        self.good_series_attrs.add((attr_id, value))
            for attr_id in self.mandatory_series:
                if not attrs.get(attr_id):
                    self.problem("missing-attribute", f"series {'.'.join(key)} has no {attr_id} (mandatory)",
                                 where, attr_id)
            if self.report.error_count + self.report.warning_count == problems:
                self.last_good_attributes = attrs
        freq = key[self.freq_index] if self.freq_index is not None and len(key) == len(self.dimension_ids) else ""
        good_periods = self.good_periods.setdefault(freq, set())
        good_attrs, text_attrs, max_text = self.good_obs_attrs, self.text_obs_attributes, self.max_text
        mandatory = self.mandatory_obs
        observations = series.observations
        if observations.__class__ is ObservationColumns and self.columns_clean(key, good_periods, observations):
            self.observation_count += len(observations)
            return
        seen = self.seen.get(key)
        if seen is None:
            seen = self.seen[key] = {}
        elif seen.__class__ is not dict:
            seen = self.seen[key] = seen.as_dict()
        self.observation_count += len(series.observations)
        for obs in series.observations:
            period = obs.time_period
            if period not in good_periods:
                self.check_period(freq, period, obs.origin)
            value = obs.value
            attrs = obs.attributes
            if value.__class__ is float:
                if value != value:  # NaN: missing
                    self.check_missing(attrs, obs.origin)
                elif value in _INFINITE:
                    self.problem("bad-value", "OBS_VALUE is infinite", obs.origin, "OBS_VALUE", str(value))
            elif value is None:
                self.check_missing(attrs, obs.origin)
            elif not _is_number(value):
                self.problem("bad-value", f"OBS_VALUE {value!r} is not a number", obs.origin, "OBS_VALUE",
                             str(value))
            for attr_id, text in attrs.items():
                if attr_id not in text_attrs:
                    known = good_attrs.get(attr_id)
                    if known is None or text not in known:
                        if self.check_attribute(attr_id, text, self.obs_attributes, "observation", obs.origin):
                            good_attrs.setdefault(attr_id, set()).add(text)
                elif text.__class__ is not str or not text.isprintable() or len(text) > max_text[attr_id]:
                    self.check_text(attr_id, text, obs.origin)
            if mandatory:
                for attr_id in mandatory:
                    if not attrs.get(attr_id):
                        self.problem("missing-attribute", f"observation {period} of {'.'.join(key)} has no "
                                     f"{attr_id} (mandatory)", obs.origin, attr_id)
            if period in seen:
                first = seen[period]
                again = f" (first at {_where(first)})" if first is not None and first.row is not None else ""
                self.problem("duplicate-observation", f"{'.'.join(key)} {period} appears twice{again}", obs.origin,
                             None, period)
            else:
                seen[period] = obs.origin

    def columns_clean(self, key: tuple[str, ...], good_periods: set[str], observations: ObservationColumns) -> bool:
        """True when observations held in columns have nothing to report, which they then count as seen.

        What the observation by observation check would pass, asked of whole
        columns: the periods, values and attribute values already known good,
        no period twice, no key seen before. Anything else (the first series
        with a new code or period, say) goes the long way, which reports it.
        """
        periods = observations.periods
        if key in self.seen:
            return False
        last_freq_periods, last_periods = self.last_good_periods
        if last_freq_periods is not good_periods or periods != last_periods:  # series often share periods
            if not good_periods.issuperset(periods) or len(set(periods)) != len(periods):
                return False
            self.last_good_periods = (good_periods, periods)
        values = observations.values
        kinds = set(map(type, values))
        if not kinds <= _FLOAT_OR_NONE:
            return False
        total = sum(filter(None, values))  # NaN or an infinity makes the total NaN or infinite
        if total - total != 0:
            return False
        if NoneType in kinds:
            at = -1
            for _ in range(values.count(None)):
                at = values.index(None, at + 1)
                if observations.attribute(at, OBS_STATUS) not in MISSING_STATUSES:
                    return False
        shared = observations.attributes
        distinct = [shared[0]] if shared and shared.count(shared[0]) == len(shared) else list(
            dict(zip(map(id, shared), shared)).values())
        good_attrs, text_attrs, max_text = self.good_obs_attrs, self.text_obs_attributes, self.max_text
        good_shared = self.good_shared
        for attrs in distinct:
            if good_shared.get(id(attrs)) is attrs:
                continue
            for attr_id, text in attrs.items():
                if attr_id in text_attrs:
                    if text.__class__ is not str or not text.isprintable() or len(text) > max_text[attr_id]:
                        return False
                elif text not in good_attrs.get(attr_id, ()):
                    return False
            if not all(attrs.get(attr_id) for attr_id in self.mandatory_obs):  # a column may hold them:
                return False  # the long way tells
            if len(good_shared) < GOOD_SHARED:
                good_shared[id(attrs)] = attrs  # held, so that its id names it alone
        for attr_id, texts in observations.columns.items():
            if attr_id in text_attrs and texts.__class__ is NumberedTexts:
                if texts.prefix is not self.good_prefix:
                    if not texts.prefix.isprintable():
                        return False
                    self.good_prefix = texts.prefix
                if len(texts.prefix) + 20 > max_text[attr_id] and texts.longest() > max_text[attr_id]:
                    return False  # (20 characters hold any row number)
            elif attr_id in text_attrs:
                try:
                    joined = "".join(texts)
                except TypeError:  # not all text
                    return False
                if not joined.isprintable() or (len(joined) > max_text[attr_id]
                                                and max(map(len, texts)) > max_text[attr_id]):
                    return False
            elif not good_attrs.get(attr_id, set()).issuperset(filter(None, texts)):
                return False
        self.seen[key] = _FirstSeen(periods, observations.origins)
        return True

    def check_missing(self, attrs: Mapping[str, str], where: Origin | None) -> None:
        status = attrs.get(OBS_STATUS)
        if status not in MISSING_STATUSES:
            self.problem("missing-without-status", f"no value and OBS_STATUS {status!r} does not say why (expected "
                         f"one of {', '.join(sorted(MISSING_STATUSES))})", where, OBS_STATUS, status)

    def check_key(self, key: tuple[str, ...], where: Origin | None) -> None:
        dims = self.dimension_ids
        if len(key) != len(dims):
            self.problem("bad-key", f"series key {'.'.join(key)} has {len(key)} codes; {self.structure.ref.id} has "
                         f"{len(dims)} dimensions ({', '.join(dims)})", where, None, ".".join(key))
            return
        good = self.good_key_codes
        if all(map(set.__contains__, good, key)):  # every code already passed
            return
        for dim_id, code, good_codes in zip(dims, key, good):
            if not code:
                self.problem("missing-dimension", f"no code for dimension {dim_id}", where, dim_id)
            elif code not in good_codes and self.check_code(dim_id, code, where):
                good_codes.add(code)

    def check_code(self, comp_id: str, code: str, where: Origin | None) -> bool:
        codes = self.codes.get(comp_id)
        if codes is not None and code not in codes:
            if (comp_id, code) not in self.flagged:
                self.flagged.add((comp_id, code))
                self.problem("unknown-code", f"{comp_id} code {code!r} is not in its codelist", where, comp_id, code)
            return False
        allowed = self.allowed.get(comp_id)
        if allowed is not None and code not in allowed:
            if (comp_id, code) not in self.flagged:
                self.flagged.add((comp_id, code))
                self.problem("not-allowed", f"{comp_id} code {code!r} is outside the dataflow's constraint",
                             where, comp_id, code, expected=", ".join(sorted(allowed)))
            return False
        return True

    def check_period(self, freq: str, period: str, where: Origin | None) -> None:
        if not isinstance(period, str) or not period:
            self.problem("bad-time-period", "no TIME_PERIOD", where, "TIME_PERIOD")
        elif period_matches_freq(period, freq):
            self.good_periods.setdefault(freq, set()).add(period)
        else:
            self.problem("bad-time-period", f"TIME_PERIOD {period!r} is not a period of frequency {freq!r}", where,
                         "TIME_PERIOD", period, expected=_FREQ_EXAMPLES.get(freq, "an SDMX time period"))

    def check_attribute(self, attr_id: str, value: str, level: set[str], level_name: str,
                        where: Origin | None) -> bool:
        if attr_id not in level:
            known = attr_id in self.codes
            message = (f"attribute {attr_id} is not attached at {level_name} level" if known
                       else f"{self.structure.ref.id} has no attribute {attr_id}")
            self.problem("unknown-attribute", message, where, attr_id, value)
            return False
        if not isinstance(value, str):
            self.problem("bad-value", f"{attr_id} value {value!r} is not text", where, attr_id, str(value))
            return False
        if value and (self.codes.get(attr_id) is not None or self.allowed.get(attr_id) is not None):
            return self.check_code(attr_id, value, where)
        if attr_id in self.max_text:
            return self.check_text(attr_id, value, where)
        return True

    def check_text(self, attr_id: str, value: object, where: Origin | None) -> bool:
        """A text attribute value: text, not too long, only characters every format can carry."""
        if not isinstance(value, str):
            self.problem("bad-value", f"{attr_id} value {value!r} is not text", where, attr_id, str(value)[:80])
            return False
        limit = self.max_text.get(attr_id, MAX_TEXT_LENGTH)
        if len(value) > limit:
            self.problem("bad-text", f"{attr_id} is {len(value):,} characters long, longer than {limit:,}", where,
                         attr_id, value[:80] + "...")
            return False
        found = _NOT_XML.search(value)
        if found is not None:
            self.problem("bad-text", f"{attr_id} holds the character U+{ord(found.group()):04X} at position "
                         f"{found.start() + 1}, which SDMX-ML cannot carry", where, attr_id,
                         value[:80].encode("unicode_escape").decode("ascii"))
            return False
        return True

    def problem(self, code: str, message: str, where: Origin | None, component: str | None,
                value: str | None = None, expected: str | None = None) -> None:
        loc = where.as_where() if where is not None else {}
        self.report.add(Problem(code, message, object_id=component, value=value, expected=expected, **loc))


def validate_series(series: Iterable[Series], structure: DataStructure,
                    codelists: Mapping[MaintainableRef, Codelist], constraint: ContentConstraint | None = None,
                    report: Report | None = None) -> Iterator[Series]:
    """Yield each series of ``series`` after checking it; problems go to ``report``."""
    return DataValidator(structure, codelists, constraint, report)(series)


def check_series(series: Iterable[Series], structure: DataStructure, codelists: Mapping[MaintainableRef, Codelist],
                 constraint: ContentConstraint | None = None, report: Report | None = None) -> Report:
    """Check every series and return the Report."""
    return DataValidator(structure, codelists, constraint, report).check_all(series)


_FREQ_EXAMPLES = {"A": "YYYY or YYYY-A1", "S": "YYYY-S1 or YYYY-S2", "Q": "YYYY-Q1..YYYY-Q4",
                  "M": "YYYY-MM", "W": "YYYY-Www", "D": "YYYY-MM-DD"}


_INFINITE = (math.inf, -math.inf)
NoneType = type(None)
_FLOAT_OR_NONE = frozenset({float, NoneType})


class _FirstSeen:
    """The periods of a series checked in columns, and where each was: a period -> origin dict when asked."""

    __slots__ = ("periods", "origins")

    def __init__(self, periods: Sequence[str], origins: Sequence[Origin | None] | None):
        self.periods, self.origins = periods, origins

    def as_dict(self) -> dict[str, Origin | None]:
        if self.origins is None:
            return dict.fromkeys(self.periods)
        return dict(zip(self.periods, self.origins))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _where(origin: Origin) -> str:
    parts = [f"row {origin.row}"]
    if origin.column:
        parts.append(f"column {origin.column}")
    return ", ".join(parts)
