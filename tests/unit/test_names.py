"""Material and country names resolve to canonical ids; unknown names get suggestions."""

from __future__ import annotations

import pytest

from critmat.errors import UnknownNameError
from critmat.knowledge_base import KnowledgeBase


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Gallium", "gallium"),
        ("Ga", "gallium"),
        ("Barytes", "baryte"),
        ("Baryte", "baryte"),
        ("Borate", "boron"),
        ("Boron", "boron"),
        ("HREEs", "hree"),
        ("Heavy Rare earths Elements", "hree"),
        ("Rare Earths (REO)", "rare_earths"),
        ("Natural graphite", "graphite"),
        ("Graphite (natural)", "graphite"),
        ("Titanium metal", "titanium_metal"),
        ("titanium_metal", "titanium_metal"),
        ("Phosphorous", "phosphorus"),
        ("Tungsten (W)", "tungsten"),
        ("lithium — battery grade", "lithium"),
        ("PGM", "pgm"),
        ("  NEODYMIUM ", "neodymium"),
    ],
)
def test_material_aliases(kb: KnowledgeBase, name: str, expected: str) -> None:
    assert kb.materials_resolver.resolve(name) == expected


def test_unknown_material_suggests_the_right_one(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownNameError) as err:
        kb.resolve_materials("galium")
    assert err.value.suggestions[0] == "gallium"
    assert "did you mean 'gallium'" in str(err.value)


def test_every_source_spelling_is_in_the_alias_table(kb: KnowledgeBase) -> None:
    aliases = kb.table("material_aliases")
    seen = aliases[~aliases["seen_in"].str.contains("synonym")]
    assert len(seen) >= 40
    for alias, material in zip(seen["alias"], seen["material"], strict=True):
        assert kb.materials_resolver.resolve(alias) == material


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DEU", "DEU"),
        ("de", "DEU"),
        ("Germany", "DEU"),
        ("Congo, D.R.", "COD"),
        ("Korea, South", "KOR"),
        ("South Korea", "KOR"),
        ("Türkiye", "TUR"),
        ("Turkyie", "TUR"),
        ("Brasilia", "BRA"),
        ("United States of America", "USA"),
        ("Kosovo", "XKX"),
        ("Taiwan", "TWN"),
        ("Other Asia, nes", "TWN"),
        ("Congo (Kinshasa)", "COD"),
    ],
)
def test_country_names(kb: KnowledgeBase, name: str, expected: str) -> None:
    assert kb.countries_resolver.resolve(name) == expected


def test_country_groups(kb: KnowledgeBase) -> None:
    eu = kb.resolve_countries("EU27")
    assert eu is not None and len(eu) == 27 and "DEU" in eu and "GBR" not in eu
    nato = kb.resolve_countries(["NATO"])
    assert nato is not None and len(nato) == 32 and {"FIN", "SWE", "USA", "TUR"} <= set(nato)
    assert "AUT" not in nato
    oecd = kb.resolve_countries("OECD")
    assert oecd is not None and len(oecd) == 38


def test_unknown_country_suggests(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownNameError) as err:
        kb.resolve_countries("Germny")
    assert err.value.suggestions[0] == "DEU"


def test_group_members(kb: KnowledgeBase) -> None:
    res = kb.materials_resolver
    assert res.ancestors("dysprosium") == ["hree", "rare_earths"]
    assert set(res.members("lree")) == {
        "lanthanum",
        "cerium",
        "praseodymium",
        "neodymium",
        "samarium",
    }
    assert "scandium" in res.members("rare_earths")
    assert set(res.members("pgm")) == {"platinum", "palladium", "rhodium", "iridium", "ruthenium"}
    assert kb.resolve_materials("hree", expand_groups=True)[0] == "hree"
