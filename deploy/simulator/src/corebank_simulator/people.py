"""Made-up card holders: names, national IDs, E.164 phones, e-mails, addresses, time zones.

Everything is drawn from the `random.Random` given, so the same seed makes the same people.
E-mail domains are the reserved `example.*` ones; national IDs have a valid GB 11643 check
character but belong to nobody.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from collections_common.events import Address, Consents, Holder

__all__ = ["national_id_check", "new_consents", "new_holder"]


@dataclass(frozen=True)
class _Place:
    """Where a holder lives: a city with its region code, postal code and IANA time zone."""

    country: str
    region: str
    city: str
    postal_code: str
    timezone: str
    division_code: str = ""  # the first six digits of a Chinese resident ID issued there
    calling_code: str = "86"


_CHINA = (
    _Place("CN", "BJ", "北京", "100010", "Asia/Shanghai", "110101"),
    _Place("CN", "SH", "上海", "200001", "Asia/Shanghai", "310101"),
    _Place("CN", "GD", "广州", "510030", "Asia/Shanghai", "440103"),
    _Place("CN", "GD", "深圳", "518000", "Asia/Shanghai", "440303"),
    _Place("CN", "ZJ", "杭州", "310002", "Asia/Shanghai", "330102"),
    _Place("CN", "JS", "南京", "210005", "Asia/Shanghai", "320102"),
    _Place("CN", "SC", "成都", "610015", "Asia/Shanghai", "510104"),
    _Place("CN", "HB", "武汉", "430014", "Asia/Shanghai", "420102"),
    _Place("CN", "SN", "西安", "710002", "Asia/Shanghai", "610102"),
    _Place("CN", "XJ", "乌鲁木齐", "830002", "Asia/Urumqi", "650102"),
)
_ABROAD = (
    _Place("HK", "HK", "Hong Kong", "999077", "Asia/Hong_Kong", calling_code="852"),
    _Place("SG", "SG", "Singapore", "018989", "Asia/Singapore", calling_code="65"),
    _Place("GB", "ENG", "London", "EC1A 1BB", "Europe/London", calling_code="44"),
    _Place("US", "CA", "San Francisco", "94105", "America/Los_Angeles", calling_code="1"),
)

_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
)  # fmt: skip
_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("建华", "jianhua"),
    ("晓东", "xiaodong"), ("海燕", "haiyan"), ("志强", "zhiqiang"), ("雪梅", "xuemei"),
)  # fmt: skip
_FIRST = ("James", "Emma", "Oliver", "Sophie", "Daniel", "Grace", "Thomas", "Chloe", "Ryan", "Hannah")
_LAST = ("Smith", "Brown", "Taylor", "Wilson", "Clark", "Walker", "Hall", "Young", "King", "Wright")
_STREETS_CN = ("人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "南京路", "文化路")
_STREETS_EN = ("Queen's Road", "Orchard Road", "High Street", "Market Street", "Nathan Road")
_DOMAINS = ("example.com", "example.net", "example.org")
_CN_MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "158", "176", "186", "188", "199")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def national_id_check(first17: str) -> str:
    """The check character of a Chinese resident ID (GB 11643-1999, ISO 7064 MOD 11-2)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _resident_id(rng: random.Random, place: _Place, born: date) -> str:
    first17 = f"{place.division_code}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + national_id_check(first17)


def _phone(rng: random.Random, place: _Place) -> str:
    """An E.164 mobile number of the place's country."""
    if place.calling_code == "86":
        return f"+86{rng.choice(_CN_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
    if place.calling_code == "852":
        return f"+852{rng.choice('569')}{rng.randrange(10**7):07d}"
    if place.calling_code == "65":
        return f"+65{rng.choice('89')}{rng.randrange(10**7):07d}"
    if place.calling_code == "44":
        return f"+447{rng.randrange(10**9):09d}"
    return f"+1415{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"


def new_holder(rng: random.Random, as_of: date) -> Holder:
    """A holder: 85% Chinese-speaking residents of China, the rest English-speaking, half abroad."""
    born = as_of - timedelta(days=rng.randrange(22 * 365, 65 * 365))
    if rng.random() < 0.85:
        place = rng.choice(_CHINA)
        surname, surname_pinyin = rng.choice(_SURNAMES)
        given, given_pinyin = rng.choice(_GIVEN)
        name, language = surname + given, "zh-CN"
        local = f"{given_pinyin}.{surname_pinyin}{rng.randrange(1, 1000)}"
        national_id = _resident_id(rng, place, born)
        line1 = f"{place.city}市{rng.choice(_STREETS_CN)}{rng.randrange(1, 400)}号{rng.randrange(1, 30)}01室"
    else:
        place = rng.choice(_CHINA[:3]) if rng.random() < 0.5 else rng.choice(_ABROAD)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name, language = f"{first} {last}", "en"
        local = f"{first.lower()}.{last.lower()}{rng.randrange(1, 1000)}"
        national_id = f"E{rng.randrange(10**8):08d}"  # a passport number
        street = rng.choice(_STREETS_EN) if place.country != "CN" else "Century Avenue"
        line1 = f"{rng.randrange(1, 400)} {street}"
    phones = [_phone(rng, place)]
    if rng.random() < 0.3:
        phones.append(_phone(rng, place))
    return Holder(
        name=name,
        national_id=national_id,
        phones=phones,
        email=f"{local}@{rng.choice(_DOMAINS)}",
        address=Address(
            line1=line1,
            city=place.city,
            region=place.region,
            postal_code=place.postal_code,
            country=place.country,
        ),
        timezone=place.timezone,
        language=language,
    )


def new_consents(rng: random.Random) -> Consents:
    """Channel consents as banks see them: most allow SMS and e-mail, fewer automated calls."""
    return Consents(
        sms=rng.random() < 0.95,
        email=rng.random() < 0.9,
        push=rng.random() < 0.7,
        autodial=rng.random() < 0.4,
    )
