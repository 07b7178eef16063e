"""GB/T 4754-2017 industries and GB/T 2260 regions: normalisation, paths, historical Henan codes."""

from __future__ import annotations

import pytest

from mianshen.errors import InputError
from mianshen.reference.industries import industry_path, leaf_codes, lookup_industry
from mianshen.reference.regions import (
    abolished_codes,
    find_region,
    find_regions_by_name,
    lookup_region,
    lookup_region_any,
    region_path,
)


@pytest.mark.parametrize("code", ["3011", "C3011", "c3011", " C3011 "])
def test_industry_3011_and_c3011_are_the_same(code: str) -> None:
    info = lookup_industry(code)
    assert info.code == "C3011" and info.name == "水泥制造" and info.level_name == "小类"
    assert [(n.code, n.level_name) for n in info.path] == [
        ("C", "门类"),
        ("C30", "大类"),
        ("C301", "中类"),
        ("C3011", "小类"),
    ]
    assert [n.name for n in info.path] == ["制造业", "非金属矿物制品业", "水泥、石灰和石膏制造", "水泥制造"]


@pytest.mark.parametrize(
    ("code", "normal", "level"),
    [
        ("C", "C", "门类"),
        ("C30", "C30", "大类"),
        ("30", "C30", "大类"),
        ("C301", "C301", "中类"),
        ("7010", "K7010", "小类"),
    ],
)
def test_industry_levels(code: str, normal: str, level: str) -> None:
    info = lookup_industry(code)
    assert (info.code, info.level_name) == (normal, level)
    assert industry_path(code)[-1].code == normal


def test_industry_counts_match_the_standard() -> None:
    sections = "ABCDEFGHIJKLMNOPQRST"
    assert sum(len(leaf_codes(s)) for s in sections) == 1381
    assert leaf_codes("K701") == ("K7010",)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("D3011", "应写 C3011"),
        ("9999", "不在 GB/T 4754-2017"),
        ("C30111", "格式不对"),
        ("", "不能为空"),
        ("Z", "格式不对"),
        ("C9999", "不在"),
    ],
)
def test_unknown_industry_is_a_clear_error(code: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        lookup_industry(code)


def test_region_path_province_city_county() -> None:
    info = lookup_region("410307")
    assert [n.name for n in info.path] == ["河南省", "洛阳市", "偃师区"]
    assert [n.level_name for n in info.path] == ["省级", "地级", "县级"]
    assert info.full_name == "河南省洛阳市偃师区" and info.historical_code is None
    assert [n.code for n in region_path("410100")] == ["410000", "410100"]
    assert lookup_region("110101").full_name == "北京市东城区"  # the 市辖区 grouping row is left out


@pytest.mark.parametrize(
    ("old", "name", "new", "year"),
    [
        ("410381", "偃师市", "410307", 2021),
        ("410322", "孟津县", "410308", 2021),
        ("410306", "吉利区", "410308", 2021),  # merged into 孟津区; still in USCCs issued 2015–2021
        ("410224", "开封县", "410212", 2014),
        ("411023", "许昌县", "411003", 2016),
        ("411222", "陕县", "411203", 2015),
        ("411626", "淮阳县", "411603", 2019),
        ("410728", "长垣县", "410783", 2019),
    ],
)
def test_historical_henan_codes_and_names(old: str, name: str, new: str, year: int) -> None:
    by_code = lookup_region(old)
    assert by_code.code == new and by_code.historical_code == old and by_code.historical_name == name
    assert "已撤销" in by_code.note and new in by_code.note and f"{year}年撤销" in by_code.note
    by_name = find_regions_by_name(name)
    assert [r.code for r in by_name] == [new] and by_name[0].historical_code == old
    assert find_region(old) is not None and lookup_region(new).historical_code is None


def test_abolished_codes_follow_mca_and_point_at_current_rows() -> None:
    """民政部 codes: chains are followed (412727 淮阳县 → 411626 → 411603), every successor is current."""
    table = abolished_codes()
    assert len(table) > 2000 and table["412727"].successor == "411603" and table["412727"].year == 2000
    assert table["110103"].name == "崇文区" and table["110103"].successor == "110101"  # other provinces too
    for old in table.values():
        assert find_region(old.successor) is not None and find_region(old.successor).historical_code is None  # type: ignore[union-attr]
    assert lookup_region("653228").name == "和康县"  # 2024, in 民政部's file and not in NBS 2022
    assert lookup_region("410173").name == "郑州航空港经济综合实验区"  # NBS functional zones are kept


def test_airport_zone_and_jiyuan() -> None:
    airport = lookup_region("410173")
    assert airport.name == "郑州航空港经济综合实验区" and airport.path[1].name == "郑州市" and airport.note
    jiyuan = lookup_region("419001")
    assert jiyuan.name == "济源市" and jiyuan.full_name == "河南省济源市"
    assert [r.code for r in lookup_region_any("济源市")] == ["419001"]


def test_region_by_name() -> None:
    assert {r.code for r in lookup_region_any("鼓楼区")} >= {"410204", "320106"}  # names repeat
    assert "410100" in {r.code for r in lookup_region_any("郑州")}  # prefix when no exact match
    with pytest.raises(InputError, match="没有名为"):
        lookup_region_any("火星市")


def test_special_codes() -> None:
    assert lookup_region("100000").node.level_name == "国家级"  # national registration authorities
    assert lookup_region("440101").path[1].name == "广州市"  # GB/T 2260 市辖区 code used in USCCs


@pytest.mark.parametrize(("code", "message"), [("41030", "6 位数字"), ("999999", "不在行政区划代码"), ("", "不能为空")])
def test_unknown_region_is_a_clear_error(code: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        lookup_region_any(code)
