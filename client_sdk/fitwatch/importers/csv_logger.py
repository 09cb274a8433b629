"""Read a `keras.callbacks.CSVLogger` file: an `epoch` column, then one column per key.

CSVLogger writes each value with `csv.writer`, i.e. `repr(float)`, so the values read back
equal `History.history` exactly (NaN is written `nan`, infinities `inf`). A key Keras did
not log at an epoch is written `NA` (`validation_freq` > 1): that epoch gets no point, as in
History. With `append=True` a file can hold an epoch twice (a resumed fit): the later row wins.
It can also hold several fits, one after the other (the header is written once): a row of
epoch 0 after other rows starts the next fit, and each fit is a run of its own
(`read_csv_logger_fits`), as a new fit starts a new run for RemoteMonitor.
The file has no wall times; every point gets the file's modification time, so importing the
same file again sends the very same points (a no-op on the server).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from fitwatch.importers.model import ImportedRun, ImportedSeries

MISSING = "NA"


def _number(raw: str, *, where: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"{where}: expected a number, 'nan', 'inf' or 'NA'. Received: {raw!r}"
        ) from None


def read_csv_logger(path: str | Path, *, separator: str = ",") -> ImportedRun:
    """The run in a CSVLogger file of one fit; raises `ValueError` naming the line that is
    wrong, or saying that the file holds several fits (read those with `read_csv_logger_fits`)."""
    fits = read_csv_logger_fits(path, separator=separator)
    if len(fits) > 1:
        raise ValueError(
            f"{fits[0].source} holds {len(fits)} fits (CSVLogger(append=True) across fits: "
            "epoch 0 comes again); read them with read_csv_logger_fits"
        )
    return fits[0]


def read_csv_logger_fits(path: str | Path, *, separator: str = ",") -> list[ImportedRun]:
    """One run per fit in a CSVLogger file (see the module docstring); raises `ValueError`
    naming the line that is wrong."""
    source = Path(path)
    try:
        handle = open(source, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ValueError(f"cannot read {source}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle, delimiter=separator)
        header = next(reader, None)
        if not header or header[0] != "epoch" or len(header) < 2:
            raise ValueError(
                f"{source} is not a CSVLogger file: its first line must be 'epoch{separator}<key>...'. "
                f"Received: {separator.join(header or [])!r}"
            )
        keys = header[1:]
        wall_time = source.stat().st_mtime
        fits: list[dict[str, ImportedSeries]] = []
        series: dict[str, ImportedSeries] = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{source}:{line}: {len(row)} columns for a header of {len(header)}"
                )
            epoch = _number(row[0], where=f"{source}:{line}")
            if not epoch.is_integer() or epoch < 0 or math.isinf(epoch):
                raise ValueError(
                    f"{source}:{line}: the epoch must be an int >= 0. Received: {row[0]!r}"
                )
            if not fits or epoch == 0:  # a fit begins (the first, or one appended after it)
                series = {key: ImportedSeries(key, "epoch") for key in keys}
                fits.append(series)
            for key, raw in zip(keys, row[1:], strict=True):
                if raw.strip() == MISSING:
                    continue
                series[key].add(
                    int(epoch), _number(raw, where=f"{source}:{line}, {key}"), wall_time
                )
    if not fits:
        raise ValueError(f"{source} holds no epoch: only its header line")
    runs = []
    for part, fit in enumerate(fits, start=1):
        name = source.stem if part == 1 else f"{source.stem} (fit {part})"
        kept = [s.deduplicated() for s in fit.values() if s.steps]
        runs.append(ImportedRun(name=name, kind="csv", source=source, series=kept, part=part))
    return runs
