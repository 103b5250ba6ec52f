"""How alike two people are, with the reasons an agent can read. Pure.

Each field that both records hold adds evidence for or against one person (weights in the
spirit of Fellegi-Sunter log-likelihood ratios, set by hand from the labelled set in
benchmarks/identity_dataset.py); the sum maps to a score in [0, 1]. Some evidence forbids an
automatic link whatever the sum: different first names (families share surnames, phones,
emails, addresses and twins share birth dates), two different verified identity numbers.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from crm.names import skeleton
from crm.person import Person

CENTRE = 7.5  # evidence at which the score is 0.5
SPREAD = 1.5

W_NAME_EXACT, W_NAME_CLOSE, W_NAME_FAIR, W_NAME_INITIAL = 3.5, 3.0, 1.0, 0.5
W_GIVEN_DIFFERS, W_FAMILY_DIFFERS = -5.0, -3.0
W_GIVEN_SLIGHTLY = -1.0  # a typo or another spelling, or a twin's name: other fields decide
W_BIRTH_SAME, W_BIRTH_NEAR, W_BIRTH_DIFFERS = 4.5, 1.0, -5.0
# Another unverified number is doubt, not proof: documents are renewed and numbers mistyped;
# two verified ones veto.
W_NATIONAL_ID_SAME, W_NATIONAL_ID_NEAR, W_NATIONAL_ID_DIFFERS = 8.0, 2.0, -3.0
W_EMAIL_SAME, W_EMAIL_LOCAL_SAME = 4.0, 1.0
W_PHONE_SAME = 4.0
W_ADDRESS_SAME, W_ADDRESS_SIMILAR = 3.5, 1.5
W_POSTCODE_SAME, W_CITY_SAME = 0.5, 0.5
# An exact identifier and no name to compare on one side: the identifier speaks for itself.
W_NO_NAME_TO_COMPARE = 7.0

EXACT, CLOSE, FAIR, INITIAL, DIFFERS = "exact", "close", "fair", "initial", "differs"
SLIGHT_VETO = "first names differ slightly"
BIRTH_VETO = "birth dates differ"
NAME_VETOES = ("first names differ", "names differ", SLIGHT_VETO)


@dataclass(frozen=True)
class Comparison:
    evidence: float
    reasons: tuple[str, ...]
    veto: str | None  # why this pair must never be linked automatically

    @property
    def score(self) -> float:
        return to_score(self.evidence)


def to_score(evidence: float) -> float:
    return round(1.0 / (1.0 + math.exp(-(evidence - CENTRE) / SPREAD)), 4)


def word_similarity(a: str, b: str) -> float:
    """0-1 for two folded name words: equal, the same sound key (and otherwise alike), else Jaro-Winkler."""
    if a == b:
        return 1.0
    jw = JaroWinkler.normalized_similarity(a, b)
    if len(a) > 2 and len(b) > 2 and jw >= 0.8 and skeleton(a) == skeleton(b):
        return max(jw, 0.97)
    return jw


# Endings that make another person's name of one stem: Louis/Louise, Jean/Jeanne, Daniel/Daniela.
_GENDER_ENDINGS = frozenset({"e", "a", "ne", "le", "te", "tte", "ette", "ine", "elle", "ienne", "enne"})


def gender_variant(a: str, b: str) -> bool:
    """Two names of one stem for two people (Hélène/Héléna, Marie/Maria, Jean/Jeanne): siblings
    and twins are named so, a typo rarely is."""
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 3 and long_.startswith(short) and long_[len(short):] in _GENDER_ENDINGS:
        return True
    return (len(a) == len(b) >= 4 and a[:-1] == b[:-1] and a[-1] != b[-1]
            and {a[-1], b[-1]} <= {"a", "e", "o"})


@functools.lru_cache(maxsize=131072)  # name words repeat across a population: most pairs were met before
def word_pair(a: str, b: str) -> tuple[str, float]:
    """How two folded name words agree (a level) and their similarity."""
    similarity = word_similarity(a, b)
    return _level(a, b, similarity), similarity


def word_level(a: str, b: str) -> str:
    return word_pair(a, b)[0]


def _level(a: str, b: str, similarity: float) -> str:
    if len(a) == 1 or len(b) == 1:
        return INITIAL if a[0] == b[0] else DIFFERS
    if gender_variant(a, b):
        return DIFFERS
    if similarity >= 0.97:
        return EXACT
    distance = OSA.distance(a, b)  # a swap of two letters is one typo
    shortest = min(len(a), len(b))
    if similarity >= 0.9 and (distance <= 1 or (shortest >= 7 and distance <= 2)):
        return CLOSE
    if shortest >= 4 and (a.startswith(b) or b.startswith(a)):
        return FAIR  # Christ / Christophe, Abdel / Abdelaziz
    if similarity >= 0.85 and distance <= 2 and shortest >= 6:
        return FAIR  # Marie/Martine are two people: short names need to be closer
    return DIFFERS


_RANK = {EXACT: 4, CLOSE: 3, FAIR: 2, INITIAL: 1, DIFFERS: 0}
_NAME_WEIGHT = {EXACT: W_NAME_EXACT, CLOSE: W_NAME_CLOSE, FAIR: W_NAME_FAIR, INITIAL: W_NAME_INITIAL}


def words_level(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, float]:
    """The best agreement between two sets of words (a compound first name against one of its
    parts agrees; 'elamrani' against 'el amrani' agrees), and its similarity."""
    best, best_similarity = DIFFERS, 0.0
    candidates = [(x, y) for x in a for y in b]
    joined_a, joined_b = "".join(a), "".join(b)
    if len(a) > 1 or len(b) > 1:
        candidates.append((joined_a, joined_b))
    for x, y in candidates:
        level, similarity = word_pair(x, y)
        if (_RANK[level], similarity) > (_RANK[best], best_similarity):
            best, best_similarity = level, similarity
    return best, best_similarity


def _part_level(a: tuple[str, ...], a_joined: str, b: tuple[str, ...], b_joined: str) -> tuple[str, float]:
    """One part of a name against another: word by word, or written as one word with its particles."""
    level = words_level(a, b)
    if a_joined and b_joined and level[0] != EXACT:
        joined = word_pair(a_joined, b_joined)
        if (_RANK[joined[0]], joined[1]) > (_RANK[level[0]], level[1]):
            return joined
    return level


def _percent(similarity: float) -> str:
    return f"{round(similarity * 100)}%"


def _name_reason(label: str, level: str, similarity: float) -> str:
    if level == EXACT:
        return f"same {label}" if similarity == 1.0 else f"{label} sounds the same"
    if level == INITIAL:
        return f"{label}: initial agrees"
    if level == DIFFERS:
        return f"{label} differs"
    return f"{label} {_percent(similarity)} similar"


def compare_names(q: Person, c: Person) -> tuple[float, list[str], str | None]:
    """Evidence from names: first and last separately when both records split them (either
    order: swapped names are common on forms), else word by word."""
    if not q.words or not c.words:
        return 0.0, [], None
    if q.given and q.family and c.given and c.family:
        straight = (_part_level(q.given, q.given_joined, c.given, c.given_joined),
                    _part_level(q.family, q.family_joined, c.family, c.family_joined))
        swapped = (_part_level(q.given, q.given_joined, c.family, c.family_joined),
                   _part_level(q.family, q.family_joined, c.given, c.given_joined))
        rank = lambda pair: (_RANK[pair[0][0]] + _RANK[pair[1][0]], pair[0][1] + pair[1][1])
        chosen, note = (swapped, ["first and last names swapped"]) if rank(swapped) > rank(straight) else (straight, [])
        (given_level, given_sim), (family_level, family_sim) = chosen
        evidence = _NAME_WEIGHT.get(given_level, W_GIVEN_DIFFERS) + _NAME_WEIGHT.get(family_level, W_FAMILY_DIFFERS)
        reasons = note + [_name_reason("first name", given_level, given_sim),
                          _name_reason("last name", family_level, family_sim)]
        veto = None
        if given_level == DIFFERS:
            given_a, given_b = (q.given, c.family) if note else (q.given, c.given)
            if slightly_different(given_a, given_b):
                evidence += W_GIVEN_SLIGHTLY - W_GIVEN_DIFFERS
                reasons[len(note)] = "first name differs slightly (a typo?)"
                veto = SLIGHT_VETO
            else:
                veto = "first names differ"
        return evidence, reasons, veto
    return _compare_words(q.words, c.words)


def _compare_words(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[float, list[str], str | None]:
    """Names not split into first and last: pair words greedily, best first; a word left on each
    side is a name that differs (a sister, a father)."""
    pairs = sorted(((word_pair(x, y)[1], i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    agreements: list[tuple[str, float]] = []
    for similarity, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        level = word_level(a[i], b[j])
        if level == DIFFERS:
            continue
        used_a.add(i)
        used_b.add(j)
        agreements.append((level, similarity))
    agreements.sort(key=lambda item: (_RANK[item[0]], item[1]), reverse=True)
    evidence = sum(_NAME_WEIGHT[level] for level, _ in agreements[:2])
    if not agreements:
        joined = word_similarity("".join(a), "".join(b))
        if joined >= 0.9:
            return W_NAME_EXACT + W_NAME_CLOSE, [f"name {_percent(joined)} similar"], None
        # one word on a side (a first name alone) differing is one name, not a whole one
        penalty = W_GIVEN_DIFFERS + (W_FAMILY_DIFFERS if min(len(a), len(b)) > 1 else 0.0)
        return penalty, ["name differs"], "names differ"
    similarity = sum(sim for _, sim in agreements) / len(agreements)
    reasons = [f"name {_percent(similarity)} similar" if similarity < 1.0 else "same name"]
    if len(used_a) < len(a) and len(used_b) < len(b):
        left_a = tuple(w for i, w in enumerate(a) if i not in used_a)
        left_b = tuple(w for j, w in enumerate(b) if j not in used_b)
        if slightly_different(left_a, left_b):
            return evidence + W_GIVEN_SLIGHTLY, reasons + ["a first name differs slightly (a typo?)"], SLIGHT_VETO
        return evidence + W_GIVEN_DIFFERS, reasons + ["a first name differs"], "first names differ"
    return evidence, reasons, None


def birth_level(a: date, b: date) -> str:
    if a == b:
        return EXACT
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return CLOSE  # day and month swapped
    # 1975/1957: one swap. (isoformat without its dashes is strftime("%Y%m%d") at a fifth of the cost.)
    distance = OSA.distance(a.isoformat().replace("-", ""), b.isoformat().replace("-", ""))
    if distance == 1 or (distance == 2 and abs((a - b).days) <= 400):
        return CLOSE  # a digit or two mistyped (not a father's date decades before)
    return DIFFERS


def slightly_different(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """First names that differ as a typo or a spelling does (Sohpe/Sophie, Imane/Iman,
    Meryem/Maryam), not as two names do (Fatima/Mohamed)."""
    for x in a:
        for y in b:
            if min(len(x), len(y)) < 3:
                continue
            if OSA.distance(x, y) <= (1 if min(len(x), len(y)) < 4 else 2) or skeleton(x) == skeleton(y):
                return True  # (a shared beginning is not enough: Abderrahmane/Abdeslam are two names)
    return False


def _national_ids(q: Person, c: Person) -> tuple[float, list[str], str | None]:
    if not q.national_ids or not c.national_ids:
        return 0.0, [], None
    pairs = [(Levenshtein.distance(x, y), xv and yv, min(len(x), len(y)))
             for x, xv in q.national_ids for y, yv in c.national_ids]
    if any(distance == 0 for distance, _, _ in pairs):
        return W_NATIONAL_ID_SAME, ["same national id"], None
    if any(distance <= (2 if shortest >= 7 else 1) and not verified for distance, verified, shortest in pairs):
        return W_NATIONAL_ID_NEAR, ["national id nearly the same (a typo?)"], None
    veto = "two different verified national ids" if all(verified for _, verified, _ in pairs) else None
    return W_NATIONAL_ID_DIFFERS, ["national id differs"], veto


def _contacts_all_differ(q: Person, c: Person) -> int:
    """How many of email, phone and address both records give, and give differently."""
    differing = 0
    if q.emails and c.emails and not set(q.emails) & set(c.emails):
        differing += 1
    if q.phones and c.phones and not set(q.phones) & set(c.phones):
        differing += 1
    if q.address and c.address and fuzz.token_set_ratio(q.address, c.address) < 85:
        differing += 1
    return differing


def _lift_vetoes(vetoes: list[str], reasons: list[str], q: Person, c: Person, identifier_agrees: bool) -> list[str]:
    """What outweighs a veto. One identity document (the same national id) outweighs a first
    name or a birth date written differently — not both at once (another family member's
    number typed by mistake). A birth date and a phone or email outweigh a first name a letter
    or two apart. A mailbox's display name never outweighs its own address."""
    same_document = "same national id" in reasons and q.name_is_reliable
    kept = list(vetoes)
    names = [v for v in kept if v in NAME_VETOES]
    if same_document and names and BIRTH_VETO not in kept:
        kept = [v for v in kept if v not in NAME_VETOES]
        reasons.append("first name differs, but one national id")
    elif same_document and BIRTH_VETO in kept and not names:
        kept.remove(BIRTH_VETO)
        reasons.append("birth date differs, but one national id")
    if SLIGHT_VETO in kept and "same birth date" in reasons and identifier_agrees:
        kept.remove(SLIGHT_VETO)  # born the same day, one phone or email, a name a letter or two apart
        reasons.append("everything else agrees")
    if identifier_agrees and not (q.name_is_reliable and c.name_is_reliable):
        kept = [v for v in kept if v not in NAME_VETOES]
    return kept


def compare(q: Person, c: Person) -> Comparison:
    """The evidence that `q` and `c` are one person, and why."""
    name_evidence, reasons, name_veto = compare_names(q, c)
    vetoes = [name_veto] if name_veto else []
    evidence = name_evidence
    identifier_agrees = False
    weight, why, id_veto = _national_ids(q, c)
    evidence += weight
    reasons += why
    vetoes += [id_veto] if id_veto else []
    identifier_agrees |= weight == W_NATIONAL_ID_SAME
    if set(q.emails) & set(c.emails):
        evidence += W_EMAIL_SAME
        reasons.append("same email")
        identifier_agrees = True
    elif q.emails and c.emails and ({e.split("@")[0] for e in q.emails if len(e.split("@")[0]) >= 5}
                                    & {e.split("@")[0] for e in c.emails}):
        evidence += W_EMAIL_LOCAL_SAME
        reasons.append("same email name at another domain")
    if set(q.phones) & set(c.phones):
        evidence += W_PHONE_SAME
        reasons.append("same phone")
        identifier_agrees = True
    if q.birth_date and c.birth_date:
        level = birth_level(q.birth_date, c.birth_date)
        if level == EXACT:
            evidence += W_BIRTH_SAME
            reasons.append("same birth date")
        elif level == CLOSE:
            evidence += W_BIRTH_NEAR
            reasons.append("birth date nearly the same (a typo?)")
        else:
            evidence += W_BIRTH_DIFFERS
            reasons.append("birth date differs")
            vetoes.append(BIRTH_VETO)  # a son named after his father, at his address
    if q.address and c.address:
        similarity = fuzz.token_set_ratio(q.address, c.address)
        same_number = q.street_number == c.street_number or not (q.street_number and c.street_number)
        if similarity >= 95 and same_number:
            evidence += W_ADDRESS_SAME
            reasons.append("same address")
        elif similarity >= 85 and same_number:
            evidence += W_ADDRESS_SIMILAR
            reasons.append(f"address {round(similarity)}% similar")
    if q.postcode and c.postcode and q.postcode == c.postcode:
        evidence += W_POSTCODE_SAME
        reasons.append("same postcode")
    if q.city and c.city and (q.city == c.city or JaroWinkler.normalized_similarity(q.city, c.city) >= 0.92):
        evidence += W_CITY_SAME
        reasons.append("same city")
    address_agrees = any(reason == "same address" or reason.startswith("address ") for reason in reasons)
    if not identifier_agrees and not address_agrees and _contacts_all_differ(q, c) >= 2:
        vetoes.append("nothing but the name and birth date agree")  # common names repeat
    vetoes = _lift_vetoes(vetoes, reasons, q, c, identifier_agrees)
    if identifier_agrees and (not q.words or not c.words):
        evidence += W_NO_NAME_TO_COMPARE
        reasons.append("no name to compare")
    elif identifier_agrees and not (q.name_is_reliable and c.name_is_reliable) and (
            name_evidence <= 0 or (name_veto is None and name_evidence < W_NO_NAME_TO_COMPARE)):
        # A mailbox's display name ("Papa", "Mairie") says nothing against its own address; and
        # agreeing in part (a first name alone) it must not say less than no name at all:
        # "Karim <k@example.org>" writing again was a stranger to review, "k@example.org" him.
        evidence += W_NO_NAME_TO_COMPARE - name_evidence
        if name_evidence <= 0:
            reasons.append("display name not compared")
    veto = vetoes[0] if vetoes else None
    return Comparison(evidence=evidence, reasons=tuple(reasons), veto=veto)
