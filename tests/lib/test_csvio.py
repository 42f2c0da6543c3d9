"""Reading and writing CSV: encodings, row numbers as a person counts them, formula injection."""

import codecs
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxculture.lib.csvio import (
    CSVFileError,
    MappingError,
    check_size,
    csv_response,
    csv_safe,
    csv_streaming_response,
    mapping_check,
    read_csv,
    read_preview,
    write_csv,
)


def rows_of(data: bytes, required=("external_id", "name"), optional=()):
    return list(read_csv(io.BytesIO(data), required=required, optional=optional))


def test_it_reads_rows_numbered_as_a_spreadsheet_shows_them():
    rows = rows_of(b"external_id,name\r\nT1,Alpha\r\nT2, Beta \r\n")
    assert rows == [
        (2, {"external_id": "T1", "name": "Alpha"}),
        (3, {"external_id": "T2", "name": "Beta"}),
    ]


def test_it_ignores_a_byte_order_mark_before_the_header():
    rows = rows_of("\ufeffexternal_id,name\nT1,Zoë\n".encode())
    assert rows == [(2, {"external_id": "T1", "name": "Zoë"})]


def test_it_accepts_header_names_in_any_case_and_with_spaces_and_optional_columns_in_any_order():
    rows = rows_of(
        b" Name ,PARENT_EXTERNAL_ID,External_Id\nAlpha,,T1\n", optional=("parent_external_id",)
    )
    assert rows == [(2, {"name": "Alpha", "parent_external_id": "", "external_id": "T1"})]


def test_a_quoted_newline_keeps_the_row_numbers_of_later_rows_right():
    data = (
        b'external_id,name\nT1,"Alpha\nsecond line\nthird line"\nT2,Beta\nT3,"x,\r\ny"\nT4,Delta\n'
    )
    rows = rows_of(data)
    assert [number for number, _ in rows] == [2, 3, 4, 5]
    assert rows[0][1]["name"] == "Alpha\nsecond line\nthird line"
    assert rows[2][1]["name"] == "x,\r\ny"


def test_a_blank_line_is_skipped_but_still_counts_as_a_row():
    rows = rows_of(b"external_id,name\nT1,Alpha\n\n,\nT2,Beta\n")
    assert [number for number, _ in rows] == [2, 5]


def test_a_row_with_the_wrong_number_of_values_is_reported_with_its_row_number():
    rows = rows_of(b'external_id,name\nT1,"A\nB"\nT2,Beta,extra\nT3\n')
    assert rows[0] == (2, {"external_id": "T1", "name": "A\nB"})
    assert rows[1] == (3, {"__error__": "Expected 2 values, found 3."})
    assert rows[2] == (4, {"__error__": "Expected 2 values, found 1."})


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        (b"external_id\n", "name", "missing column(s) name"),
        (b"external_id,name,colour\n", "colour", "unknown column(s) colour"),
        (b"external_id,nmae\n", "name, nmae", "missing column(s) name; unknown column(s) nmae"),
    ],
)
def test_a_wrong_header_names_the_missing_and_unknown_columns(header, column, words):
    with pytest.raises(CSVFileError) as caught:
        rows_of(header + b"T1,Alpha\n")
    assert caught.value.code == "wrong_header"
    assert caught.value.error.row == 1
    assert caught.value.error.column == column
    assert words in caught.value.error.reason
    assert "Expected: external_id, name." in caught.value.error.reason


def test_a_column_named_twice_is_a_wrong_header():
    with pytest.raises(CSVFileError) as caught:
        rows_of(b"external_id,name,name\nT1,A,B\n")
    assert caught.value.code == "wrong_header"
    assert "twice" in caught.value.error.reason


def test_a_latin1_file_is_refused_as_not_utf8():
    with pytest.raises(CSVFileError) as caught:
        rows_of("external_id,name\nT1,Zoë Müller\n".encode("latin-1"))
    assert caught.value.code == "not_utf8"
    assert "not UTF-8" in caught.value.error.reason
    assert "CSV UTF-8" in caught.value.error.reason


def test_a_latin1_byte_far_into_a_large_file_is_still_refused():
    good = b"".join(b"T%d,Team %d\n" % (n, n) for n in range(5000))
    with pytest.raises(CSVFileError) as caught:
        rows_of(b"external_id,name\n" + good + "T9,Zoë\n".encode("latin-1"))
    assert caught.value.code == "not_utf8"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n", b" , \n"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(CSVFileError) as caught:
        rows_of(data)
    assert caught.value.code == "empty_file"
    assert caught.value.error.reason == "The file is empty."


def test_a_header_without_rows_is_refused():
    with pytest.raises(CSVFileError) as caught:
        rows_of(b"external_id,name\n\n")
    assert caught.value.code == "empty_file"
    assert caught.value.error.reason == "The file has a header but no rows."


def test_the_preview_is_the_header_and_the_first_row_that_is_not_blank_padded_to_the_header():
    raw = io.BytesIO("\ufeffid , Score,Comment\n\n,,\n7, good \n8,bad,x\n".encode())

    assert read_preview(raw) == (["id", "Score", "Comment"], ["7", "good", ""])
    assert read_preview(io.BytesIO(b"id,score\n")) == (["id", "score"], ["", ""])
    with pytest.raises(CSVFileError, match=r"The file is empty\."):
        read_preview(io.BytesIO(b"\n"))


def test_check_size_refuses_a_file_over_the_limit_and_accepts_one_at_it():
    check_size(100, 100)
    check_size(None, 100)
    with pytest.raises(CSVFileError) as caught:
        check_size(101, 100)
    assert caught.value.code == "file_too_large"
    assert caught.value.error.reason == "The file is 101 bytes; the limit is 100 bytes."


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+33 1 23 45", "'+33 1 23 45"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\0=1", "'=1"),
        ("a\0b\0", "ab"),
        ("Zoë = top", "Zoë = top"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (-3, "-3"),
        (-0.25, "-0.25"),
    ],
)
def test_csv_safe_neutralises_formulas_and_strips_nul(value, safe):
    assert csv_safe(value) == safe


def test_write_csv_neutralises_every_cell():
    assert write_csv([["=1+1", "ok", -1]]) == "'=1+1,ok,-1\r\n"


def test_write_csv_round_trips_through_read_csv():
    rows = [
        ["external_id", "name"],
        ["T1", 'Quote " and, comma'],
        ["T2", "Two\nlines"],
        ["T3", "Zoë 東京"],
    ]
    data = write_csv(rows).encode()
    assert rows_of(data) == [
        (2, {"external_id": "T1", "name": 'Quote " and, comma'}),
        (3, {"external_id": "T2", "name": "Two\nlines"}),
        (4, {"external_id": "T3", "name": "Zoë 東京"}),
    ]


_cell = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\ufeff"),
        max_size=20,
    )
    .map(str.strip)
    .filter(lambda text: text and not text.startswith(("=", "+", "-", "@")))
)


@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=10))
def test_write_csv_round_trips_any_text(pairs):
    data = write_csv([("external_id", "name"), *pairs]).encode()
    rows = rows_of(data)
    assert [(row["external_id"], row["name"]) for _, row in rows] == pairs
    assert [number for number, _ in rows] == list(range(2, len(pairs) + 2))


def test_a_csv_download_is_utf8_with_a_byte_order_mark_so_spreadsheets_read_accents():
    response = csv_response([["team", "score"], ["Équipe Zürich", 4.5]], filename="results.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="results.csv"'
    assert response.content.startswith(codecs.BOM_UTF8)
    assert response.content.decode("utf-8-sig") == "team,score\r\nÉquipe Zürich,4.5\r\n"


def test_a_streamed_csv_download_sends_the_byte_order_mark_once_first():
    chunks = iter([write_csv([["row", "reason"]]), write_csv([[2, "Sæson mangler"]])])

    response = csv_streaming_response(chunks, filename="rejected.csv")
    body = b"".join(response.streaming_content)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.count(codecs.BOM_UTF8) == 1 and body.startswith(codecs.BOM_UTF8)
    assert body.decode("utf-8-sig") == "row,reason\r\n2,Sæson mangler\r\n"


# --- Column mappings ----------------------------------------------------------------------------


def test_a_mapping_renames_the_files_columns_matching_headers_in_any_case_and_ignores_the_rest():
    raw = io.BytesIO(b"\xef\xbb\xbfEmployee ID, Work Email ,Notes\nE-1,a@example.com,x\n")

    rows = list(
        read_csv(
            raw,
            required=["external_id"],
            optional=["email"],
            mapping={"external_id": "employee id", "email": "Work Email"},
        )
    )

    assert rows == [(2, {"external_id": "E-1", "email": "a@example.com"})]


@pytest.mark.parametrize(
    ("mapping", "header", "field", "words"),
    [
        ({"colour": "A"}, None, "colour", "Unknown target field 'colour'"),
        ({"email": "A"}, None, "external_id", "'external_id' must be mapped"),
        ({"external_id": "B"}, ["A"], "external_id", "The column 'B' (mapped to external_id)"),
    ],
)
def test_a_bad_mapping_names_the_target_or_header_at_fault(mapping, header, field, words):
    with pytest.raises(MappingError) as caught:
        mapping_check(
            mapping, targets=["external_id", "email"], required=["external_id"], header=header
        )

    assert caught.value.field == field
    assert words in caught.value.message


def test_a_mapped_column_that_appears_twice_in_the_file_is_refused():
    raw = io.BytesIO(b"id,ID\n1,2\n")

    with pytest.raises(CSVFileError) as caught:
        list(read_csv(raw, required=["external_id"], mapping={"external_id": "id"}))

    assert caught.value.error.reason == "Wrong header: the column 'id' appears twice."
