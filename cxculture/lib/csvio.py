"""Reading and writing CSV files safely.

`read_csv` streams rows from an uploaded (binary) file: it checks the size limit before parsing,
decodes strictly as UTF-8 (a byte-order mark is allowed), checks the header, and yields each row
with its row number as a person would count it in a spreadsheet (the header is row 1).
`csv_safe` neutralises values that a spreadsheet would run as a formula. `csv_response` and
`csv_streaming_response` are every CSV download of the product: UTF-8, said so in the
Content-Type and with a byte-order mark, without which Excel reads the file in the machine's
legacy code page and garbles every accent ("Ã‰quipe" for "Équipe").
With a column mapping (target field -> the file's own header), the file's headers may be
anything: mapped columns are renamed to their targets and the others are ignored, so an export
from another system loads without editing. `mapping_check` refuses a bad mapping up front.
`csv_safe` neutralises values that a spreadsheet would run as a formula.
"""

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.http import HttpResponse, StreamingHttpResponse

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"


@dataclass(frozen=True)
class RowError:
    """Why one row (or the file, row 0/1) was rejected."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class CSVFileError(Exception):
    """The file as a whole cannot be read: too large, not UTF-8, empty, or a wrong header."""

    def __init__(self, error: RowError, *, code: str = "invalid_file"):
        super().__init__(error.reason)
        self.error = error
        self.code = code


class MappingError(Exception):
    """A column mapping that cannot be used: an unknown target, a required target left out, or a
    header the file does not have. `field` names the target or header at fault."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def normalise_header(name: str) -> str:
    """How headers are compared: case, surrounding spaces and a byte-order mark do not count."""
    return name.replace("\ufeff", "").strip().lower()


def mapping_check(
    mapping: Mapping[str, str],
    *,
    targets: Sequence[str],
    required: Iterable[str],
    header: Sequence[str] | None = None,
) -> dict[str, str]:
    """The mapping (target -> header) cleaned, or MappingError naming the first thing wrong.

    Targets left empty are dropped. With `header` (the file's first row), every mapped header
    must be in it.
    """
    if not isinstance(mapping, Mapping):
        raise MappingError("A mapping is an object of target field -> column name.", field="")
    cleaned: dict[str, str] = {}
    for target, column in mapping.items():
        if not isinstance(target, str) or not isinstance(column, str | None):
            raise MappingError("Targets and column names are text.", field=str(target))
        if target not in targets:
            raise MappingError(
                f"Unknown target field {target!r}. Targets: {', '.join(targets)}.", field=target
            )
        if column and column.strip():
            if len(column) > 200:
                raise MappingError("A column name has at most 200 characters.", field=target)
            cleaned[target] = column.strip()
    for target in required:
        if target not in cleaned:
            raise MappingError(f"The target field {target!r} must be mapped.", field=target)
    if header is not None:
        present = {normalise_header(name) for name in header}
        for target, column in cleaned.items():
            if normalise_header(column) not in present:
                raise MappingError(
                    f"The column {column!r} (mapped to {target}) is not in the file. "
                    f"Its columns: {', '.join(name for name in header if name.strip())}.",
                    field=target,
                )
    return cleaned


def read_header(raw: IO[bytes]) -> list[str]:
    """The file's first row as written (stripped); CSVFileError when it cannot be read."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
    try:
        header = next(_decoded(csv.reader(text)), [])
    finally:
        text.detach()
    if _is_blank(header):
        raise CSVFileError(RowError(1, "", "The file is empty."), code="empty_file")
    return [name.strip() for name in header]


def read_preview(raw: IO[bytes]) -> tuple[list[str], list[str]]:
    """The header as written and the first row that is not blank (padded to the header's
    length; empty when the file has no rows), for a page that shows what a column holds."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
    try:
        rows = _decoded(csv.reader(text))
        header = next(rows, [])
        first = next((values for values in rows if not _is_blank(values)), [])
    finally:
        text.detach()
    if _is_blank(header):
        raise CSVFileError(RowError(1, "", "The file is empty."), code="empty_file")
    first = [value.strip() for value in first[: len(header)]]
    return [name.strip() for name in header], first + [""] * (len(header) - len(first))


def check_size(size: int | None, max_bytes: int) -> None:
    if size is not None and size > max_bytes:
        raise CSVFileError(
            RowError(0, "", f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes."),
            code="file_too_large",
        )


def _decoded(reader: Any) -> Iterator[list[str]]:
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # Decoding runs ahead of parsing in chunks, so the row is not known exactly.
            reason = (
                f"The file is not UTF-8 encoded ({exc.reason}). "
                "Save it as 'CSV UTF-8' and upload it again."
            )
            raise CSVFileError(RowError(0, "", reason), code="not_utf8") from exc
        except csv.Error as exc:
            # `line_num` counts physical lines, not rows; it still points near the problem.
            reason = f"The file is not valid CSV near line {reader.line_num} ({exc})."
            raise CSVFileError(RowError(0, "", reason)) from exc
        yield values


def _is_blank(values: list[str]) -> bool:
    return not any(value.strip() for value in values)


def read_csv(
    raw: IO[bytes],
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    mapping: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield `(row_number, row)` with every value stripped; raise CSVFileError for the file.

    Without a mapping, the header must hold every required column and nothing unknown, so a
    typo in a column name is an error and not a silently empty field. With a mapping (target
    -> the file's header), rows are keyed by target and unmapped columns are ignored.
    """
    required = list(required)
    allowed = set(required) | set(optional)
    # newline="" as the csv module asks; errors="strict" so a Latin-1 file fails loudly
    # instead of importing mangled names.
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    rows = _decoded(reader)
    header = next(rows, [])
    if _is_blank(header) and all(_is_blank(values) for values in rows):
        raise CSVFileError(RowError(1, "", "The file is empty."), code="empty_file")
    header = [normalise_header(column) for column in header]
    if mapping is not None:
        yield from _read_mapped(rows, header, required, optional, mapping)
        return
    missing = [column for column in required if column not in header]
    unknown = [column for column in header if column not in allowed]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s) " + ", ".join(unknown))
        expected = ", ".join(required + [c for c in optional if c not in required])
        raise CSVFileError(
            RowError(
                1,
                ", ".join(missing + unknown),
                f"Wrong header: {'; '.join(parts)}. Expected: {expected}.",
            ),
            code="wrong_header",
        )
    if len(set(header)) != len(header):
        raise CSVFileError(
            RowError(1, "", "Wrong header: a column appears twice."), code="wrong_header"
        )
    seen_any = False
    # A row number counts records (as a spreadsheet shows them), not physical lines: a quoted
    # value may span several lines. The csv module yields [] for a blank line, so it counts too.
    for row_number, values in enumerate(rows, start=2):
        if _is_blank(values):
            continue
        seen_any = True
        if len(values) != len(header):
            reason = f"Expected {len(header)} values, found {len(values)}."
            yield row_number, {"__error__": reason}
            continue
        yield (
            row_number,
            {column: value.strip() for column, value in zip(header, values, strict=True)},
        )
    if not seen_any:
        raise CSVFileError(RowError(2, "", "The file has a header but no rows."), code="empty_file")


def _read_mapped(
    rows: Iterator[list[str]],
    header: list[str],
    required: list[str],
    optional: Iterable[str],
    mapping: Mapping[str, str],
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        cleaned = mapping_check(mapping, targets=[*required, *optional], required=required)
    except MappingError as exc:
        raise CSVFileError(RowError(1, exc.field, exc.message), code="wrong_mapping") from None
    index: dict[str, int] = {}
    for target, column in cleaned.items():
        wanted = normalise_header(column)
        if header.count(wanted) != 1:
            reason = "is not in the file" if wanted not in header else "appears twice"
            raise CSVFileError(
                RowError(1, column, f"Wrong header: the column {column!r} {reason}."),
                code="wrong_header",
            )
        index[target] = header.index(wanted)
    seen_any = False
    for row_number, values in enumerate(rows, start=2):
        if _is_blank(values):
            continue
        seen_any = True
        if len(values) != len(header):
            yield row_number, {"__error__": f"Expected {len(header)} values, found {len(values)}."}
            continue
        yield row_number, {target: values[at].strip() for target, at in index.items()}
    if not seen_any:
        raise CSVFileError(RowError(2, "", "The file has a header but no rows."), code="empty_file")


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell value that no spreadsheet will evaluate as a formula (OWASP CSV injection).

    Numbers are written as they are: a negative number is data, not a formula, and prefixing
    it would turn it into text in every spreadsheet.
    """
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value).replace("\0", "")
    if text.startswith(_FORMULA_PREFIXES):
        text = "'" + text
    return text


def write_csv(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue()


def _attachment(filename: str) -> str:
    return f'attachment; filename="{filename}"'


def csv_response(rows: Iterable[Iterable[object]], *, filename: str) -> HttpResponse:
    """`rows` (formula-safe) as a CSV download named `filename`: UTF-8 with a byte-order mark."""
    response = HttpResponse(BOM + write_csv(rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(filename)
    return response


def csv_streaming_response(chunks: Iterable[str], *, filename: str) -> StreamingHttpResponse:
    """CSV text chunks (from `write_csv`) streamed as a download named `filename`: UTF-8 with a
    byte-order mark, like `csv_response`."""
    response = StreamingHttpResponse(itertools.chain([BOM], chunks), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(filename)
    return response
