"""A CSV cut into chunks of text for the workers gives back the records, line numbers and all,
that reading it in order gives: whatever its quoting, line endings, stray quotes, blank lines
or missing last newline, and wherever the cuts fall."""
from __future__ import annotations

import collections
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.citizen_import import read_csv, read_csv_chunks
from crm.csv_chunks import Misaligned, numbered

HEADER = "external_id,first_name,last_name,address\r\n"


def chunked(text: str, size: int, ahead: int) -> list[tuple[int, list[str]]]:
    """The records as the import takes them: `ahead` chunks handed out before the first is
    parsed; after a Misaligned chunk, the rest parsed in order from it."""
    _, chunks = read_csv_chunks(io.StringIO(text, newline=""), size)
    records: list = []
    pending: collections.deque = collections.deque()
    while True:
        while len(pending) < ahead:
            chunk = next(chunks, None)
            if chunk is None:
                break
            pending.append(chunk)
        if not pending:
            return records
        chunk = pending.popleft()
        try:
            records += numbered(chunk)
        except Misaligned:
            chunks.parse_in_order([chunk, *pending])
            pending.clear()


def in_order(text: str) -> list[tuple[int, list[str]]]:
    return list(read_csv(io.StringIO(text, newline=""))[1])


FIELD = st.one_of(
    st.sampled_from(["Nadia", "El Amrani", "", " ", "12 rue de la Paix", "O\"Brien", "Bât. B", "x,y"]),
    st.text(alphabet="ab \",\n\r;", max_size=8),
)


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@st.composite
def csv_texts(draw) -> str:
    """Well-formed rows, rows written by hand (a bare field with a quote in it, a field quoted
    over lines), blank lines; LF or CRLF; with or without a last newline."""
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    for _ in range(draw(st.integers(0, 40))):
        values = draw(st.lists(FIELD, min_size=4, max_size=4))
        bare = draw(st.booleans())
        lines.append(",".join(value if bare and not any(c in value for c in ",\n\r") else quoted(value)
                              for value in values) if draw(st.integers(0, 9)) else "")
    body = end.join(lines)
    return HEADER + body + (end if draw(st.booleans()) else "")


@settings(max_examples=400, deadline=None)
@given(text=csv_texts(), size=st.integers(1, 7), ahead=st.integers(1, 3))
def test_chunks_give_the_records_reading_in_order_gives(text: str, size: int, ahead: int) -> None:
    assert chunked(text, size, ahead) == in_order(text)


def test_a_stray_quote_before_a_field_quoted_over_lines_is_caught_and_read_in_order() -> None:
    """The cut after line 3 looks balanced (the stray quote and the opening one) but falls
    inside the quoted address: the chunk is refused and the rest read in order."""
    text = HEADER + 'P1,Sean,O"Brien,1 rue\nP2,Anne,Roux,"2 rue\nBât. B"\nP3,Paul,Roux,3 rue\n'
    _, chunks = read_csv_chunks(io.StringIO(text, newline=""), 2)
    first = next(chunks)
    try:
        numbered(first)
    except Misaligned:
        pass
    else:
        raise AssertionError("the misaligned chunk was parsed")
    assert chunked(text, 2, 1) == in_order(text) == [
        (2, ["P1", "Sean", 'O"Brien', "1 rue"]), (4, ["P2", "Anne", "Roux", "2 rue\nBât. B"]),
        (5, ["P3", "Paul", "Roux", "3 rue"])]


def test_the_workers_parse_with_the_separator_sniffed_from_the_header() -> None:
    text = "external_id;first_name;last_name\r\nP1;Nadia;\"El; Amrani\"\r\nP2;Jean;Dupont"
    _, chunks = read_csv_chunks(io.StringIO(text, newline=""), 1)
    assert [numbered(chunk) for chunk in chunks] == [[(2, ["P1", "Nadia", "El; Amrani"])],
                                                     [(3, ["P2", "Jean", "Dupont"])]]


def test_a_chunk_and_its_refusal_cross_to_a_worker_process_and_back() -> None:
    """What the import hands to its worker processes, and the refusal it gets back, survive
    pickling (the import's first chunks run in threads while the processes start)."""
    text = HEADER + 'P1,Sean,O"Brien,1 rue\nP2,Anne,Roux,"2 rue\nBât. B"\nP3,Paul,Roux,3 rue\n'
    _, chunks = read_csv_chunks(io.StringIO(text, newline=""), 2)
    first = next(chunks)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        refused = pool.submit(numbered, first).exception(timeout=60)
        assert isinstance(refused, Misaligned) and refused.first_line == 2
        chunks.parse_in_order([first])
        assert [record for chunk in chunks for record in pool.submit(numbered, chunk).result(timeout=60)] == \
            in_order(text)
