"""The manifest's licence policy: allow-lists, deny-lists, case, and counted drops."""
from __future__ import annotations

import pytest

from core.stats import Stats
from filters.licenses import LicenseFilter, permitted
from pipelines.manifest import LicensePolicy
from sources.base import RawSample


def sample(license: str) -> RawSample:
    return RawSample(lang="svg", code="<svg/>", source="s", source_ref=license, license=license)


def test_allow_and_deny_compare_names_case_insensitively():
    assert permitted("MIT", ["mit", "apache-2.0"], None) and not permitted("cc-by-nc-4.0", ["mit"], None)
    assert permitted("MIT", None, ["cc-by-nc-4.0"]) and not permitted(" CC-BY-NC-4.0", None, ["cc-by-nc-4.0"])


def test_refused_rows_are_counted_and_the_rest_pass_in_order():
    stats = Stats()
    check = LicenseFilter(LicensePolicy(deny=["cc-by-nc-sa-4.0"]))
    kept = check.keep([sample("mit"), sample("cc-by-nc-sa-4.0"), sample("apache-2.0")], stats)
    assert [s.license for s in kept] == ["mit", "apache-2.0"]
    assert stats.table()["license_filter"]["svg"] == {"in": 3, "out": 2, "dropped:license_refused": 1}
    assert check.verdict(sample("cc-by-nc-sa-4.0")) == (False, "license_refused", "licence 'cc-by-nc-sa-4.0' is refused by the manifest")
    [refused] = stats.excluded
    assert (refused.stage, refused.reason, refused.source_ref) == ("license_filter", "license_refused", "cc-by-nc-sa-4.0")


def test_a_policy_names_exactly_one_list():
    with pytest.raises(ValueError, match="exactly one"):
        LicensePolicy(allow=["mit"], deny=["gpl"])
    with pytest.raises(ValueError, match="exactly one"):
        LicensePolicy()
