"""The matcher's inputs read one enterprise at a time (a province's run must not hold ten million
profiles): the streamed profiles are the profiles `profile show` gives for the fields read, every
registered enterprise is there (one without any observation too), and a run keeps per enterprise
only which fields it has — one shared set per distinct combination."""

from __future__ import annotations

from sqlalchemy import Engine, select

from mianshen.matching.inputs import ProfileFeed, read_profiles, stream_profiles
from mianshen.profiles.current import read_profile
from mianshen.store.schema import enterprises

from . import matching_fixtures as fx
from .matching_fixtures import AS_OF, N

demo, populated = fx.demo, fx.populated

FIELDS = {"serious_dishonesty", "insured_avg_last_year", "size_class", "industry_code", "established_on"}
BARE = "91410100MA9XYZ0000"  # registered, never observed by any source


def test_streamed_profiles_are_the_stored_profiles_in_uscc_order(populated: Engine) -> None:
    with populated.begin() as conn:
        conn.execute(enterprises.insert().values(uscc=BARE, name="无数据企业", uscc_status="valid"))
    with populated.connect() as conn:
        streamed = list(stream_profiles(conn, AS_OF, FIELDS))
        registered = sorted(conn.execute(select(enterprises.c.uscc)).scalars())
        assert [p.uscc for p in streamed] == registered  # all of them, once each, in order
        assert len(streamed) == N + 1
        for profile in streamed[:: max(1, N // 15)]:
            shown = read_profile(conn, profile.uscc, AS_OF)
            assert shown is not None
            expected = {k: v.value for k, v in shown.fields.items() if k in profile.fields}
            assert {k: v.value for k, v in profile.fields.items()} == expected
            assert FIELDS & set(shown.fields) <= set(profile.fields)  # nothing read is left out
        bare = next(p for p in streamed if p.uscc == BARE)
        assert not {"serious_dishonesty", "insured_avg_last_year", "industry_code"} & set(bare.fields)
        some = registered[1::7]
        chunked = read_profiles(conn, AS_OF, FIELDS, some)
        assert list(chunked) == some
        assert all(chunked[u] == p for p in streamed if (u := p.uscc) in chunked)


def test_a_feed_keeps_one_shared_set_per_combination_of_present_fields(populated: Engine) -> None:
    with populated.connect() as conn:
        feed = ProfileFeed(stream_profiles(conn, AS_OF, FIELDS))
        first = next(feed.rows())
        assert first[0] in feed.present and len(feed.present) == 1
        assert feed.finish() == N  # the rest are read even when no engine asked for them
    shapes = {id(s) for s in feed.present.values()}
    assert len(shapes) == len(set(feed.present.values())) < N  # equal sets are one object
    assert any("serious_dishonesty" not in s for s in feed.present.values())  # the demo has gaps
